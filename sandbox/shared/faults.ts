// The fault model every sandbox shares (the payment sandboxes' in ../stripe/faults.ts, the banks'
// in ./bank.ts). A sandbox declares its faults once, as a spec: which are rates (a probability in
// 0..1, rolled with the injected random), which are flags (booleans), which are integers with a
// maximum (latency_ms). The spec's key order is the order of the no-fault state's keys.
//
// A rate of 0 never draws, so a fault-free run consumes no randomness and a seeded random
// replays a run exactly.

/** How one fault is set: a probability, a switch, or a whole number in 0..integer_max. */
export type FaultKind = 'rate' | 'flag' | { readonly integer_max: number };

export type FaultSpec = Readonly<Record<string, FaultKind>>;

/** The state a spec describes: flags are booleans, rates and integers numbers. */
export type FaultsOf<Spec extends FaultSpec> = { readonly [Name in keyof Spec]: Spec[Name] extends 'flag' ? boolean : number };

/** The names of a spec's rates (what `roll` takes). */
export type RateNameOf<Spec extends FaultSpec> = { [Name in keyof Spec]: Spec[Name] extends 'rate' ? Name : never }[keyof Spec] & string;

export type FaultPatchValidation<Faults> =
  | { readonly ok: true; readonly value: Partial<Faults> }
  | { readonly ok: false; readonly param: string; readonly message: string };

/** Every fault off: flags false, rates and integers 0, in the spec's order. */
export function noFaultsOf<Spec extends FaultSpec>(spec: Spec): FaultsOf<Spec> {
  const none: Record<string, number | boolean> = {};
  for (const [name, kind] of Object.entries(spec)) none[name] = kind === 'flag' ? false : 0;
  return Object.freeze(none) as FaultsOf<Spec>;
}

/** Checks a fault patch from outside (an admin route body); a route can answer 400 with `param`. */
export function validateFaultPatch<Spec extends FaultSpec>(spec: Spec, input: unknown): FaultPatchValidation<FaultsOf<Spec>> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { ok: false, param: '', message: 'faults must be an object' };
  const patch: Record<string, number | boolean> = {};
  for (const [name, value] of Object.entries(input)) {
    if (!Object.hasOwn(spec, name)) return { ok: false, param: name, message: `unknown fault ${name}` };
    const problem = faultValueProblem(name, spec[name]!, value);
    if (problem !== null) return { ok: false, param: name, message: problem };
    patch[name] = value as number | boolean;
  }
  return { ok: true, value: patch as Partial<FaultsOf<Spec>> };
}

function faultValueProblem(name: string, kind: FaultKind, value: unknown): string | null {
  if (kind === 'flag') return typeof value === 'boolean' ? null : `${name} must be a boolean`;
  if (kind === 'rate') return typeof value === 'number' && value >= 0 && value <= 1 ? null : `${name} must be a number in 0..1`;
  const max = kind.integer_max;
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max ? null : `${name} must be an integer in 0..${max}`;
}

/** A sandbox's current faults, changed by patches, and the dice its rates are rolled with. */
export class FaultModel<Spec extends FaultSpec> {
  readonly none: FaultsOf<Spec>;
  private current: FaultsOf<Spec>;

  constructor(private readonly spec: Spec, private readonly random: () => number) {
    this.none = noFaultsOf(spec);
    this.current = this.none;
  }

  get(): FaultsOf<Spec> {
    return this.current;
  }

  /** Throws a RangeError naming the bad field: a bad patch is the caller's bug (validate it first). */
  set(patch: Partial<FaultsOf<Spec>>): void {
    const checked = validateFaultPatch(this.spec, patch);
    if (!checked.ok) throw new RangeError(`setFaults: ${checked.message}`);
    this.current = Object.freeze({ ...this.current, ...checked.value }) as FaultsOf<Spec>;
  }

  reset(): void {
    this.current = this.none;
  }

  /** True with probability `rate`; a rate of 0 never draws, so fault-free runs consume no randomness. */
  roll(name: RateNameOf<Spec>): boolean {
    const rate = this.current[name] as number;
    if (rate <= 0) return false;
    const draw = this.random();
    if (!(draw >= 0 && draw < 1)) throw new Error(`random() must return a number in [0, 1), got ${draw}`);
    return draw < rate;
  }
}
