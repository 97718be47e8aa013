import type { SandboxFaults } from '../../src/channels/sandbox.ts';
import { sandboxLimits } from './limits.ts';

// How the sandbox misbehaves. Each request rolls the dice in a fixed order (error, timeout,
// late success, duplicate notification) with the injected `random`, so a seeded random
// replays a run exactly.
//
// - outage:               every request answers 503 api_error before anything else; nothing runs.
// - error_rate:           500 api_error after auth, WITHOUT running the request (no charge, no
//                         idempotent response stored: a retry with the same key runs it afresh).
// - timeout_rate:         the request runs (the charge is made and the response stored under its
//                         idempotency key), then the response is held back (timeout_hold_ms, or
//                         until close): the caller cannot tell what happened.
// - latency_ms:           added before every request runs.
// - late_success_rate:    a confirm that would succeed answers `processing`, then succeeds
//                         late_success_delay_ms later (with its payment_intent.succeeded event).
// - duplicate_notify_rate: a webhook event is delivered twice (same event id, as Stripe does).

/** The one declaration is the platform's (every sandbox offers it). */
export type Faults = SandboxFaults;

export const noFaults: Faults = Object.freeze({
  error_rate: 0,
  timeout_rate: 0,
  latency_ms: 0,
  outage: false,
  late_success_rate: 0,
  duplicate_notify_rate: 0,
});

const rateNames = ['error_rate', 'timeout_rate', 'late_success_rate', 'duplicate_notify_rate'] as const;
const faultNames = new Set<string>([...rateNames, 'latency_ms', 'outage']);

export type FaultsValidation =
  | { readonly ok: true; readonly value: Partial<Faults> }
  | { readonly ok: false; readonly param: string; readonly message: string };

/** Checks a fault patch from outside (an admin route body); the lead's route can answer 400 with `param`. */
export function validateFaults(input: unknown): FaultsValidation {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, param: '', message: 'faults must be an object' };
  }
  const patch: Record<string, number | boolean> = {};
  for (const [name, value] of Object.entries(input)) {
    if (!faultNames.has(name)) return { ok: false, param: name, message: `unknown fault ${name}` };
    if (name === 'outage') {
      if (typeof value !== 'boolean') return { ok: false, param: name, message: 'outage must be a boolean' };
    } else if (name === 'latency_ms') {
      if (!(Number.isInteger(value) && value >= 0 && value <= sandboxLimits.latency_ms_max)) {
        return { ok: false, param: name, message: `latency_ms must be an integer in 0..${sandboxLimits.latency_ms_max}` };
      }
    } else if (!(typeof value === 'number' && value >= 0 && value <= 1)) {
      return { ok: false, param: name, message: `${name} must be a number in 0..1` };
    }
    patch[name] = value as number | boolean;
  }
  return { ok: true, value: patch as Partial<Faults> };
}

export class FaultState {
  private current: Faults = noFaults;
  constructor(private readonly random: () => number) {}

  get(): Faults {
    return this.current;
  }
  /** Throws a RangeError naming the bad field: a bad patch is the caller's bug (use validateFaults first). */
  set(patch: Partial<Faults>): void {
    const checked = validateFaults(patch);
    if (!checked.ok) throw new RangeError(`setFaults: ${checked.message}`);
    this.current = Object.freeze({ ...this.current, ...checked.value });
  }
  reset(): void {
    this.current = noFaults;
  }
  /** True with probability `rate`; a rate of 0 never draws, so fault-free runs consume no randomness. */
  roll(name: (typeof rateNames)[number]): boolean {
    const rate = this.current[name];
    if (rate <= 0) return false;
    const draw = this.random();
    if (!(draw >= 0 && draw < 1)) throw new Error(`random() must return a number in [0, 1), got ${draw}`);
    return draw < rate;
  }
}
