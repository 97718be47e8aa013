import type { SandboxFaults } from '../../src/channels/sandbox.ts';
import { FaultModel, noFaultsOf, validateFaultPatch, type FaultPatchValidation, type FaultSpec } from '../shared/faults.ts';
import { sandboxLimits } from './limits.ts';

// How the sandbox misbehaves. Each request rolls the dice in a fixed order (error, timeout,
// late success, duplicate notification) with the injected `random`, so a seeded random
// replays a run exactly. The payment sandboxes (Stripe, Alipay, WeChat Pay) share these faults;
// the model is ../shared/faults.ts.
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

export const paymentFaultSpec = Object.freeze({
  error_rate: 'rate',
  timeout_rate: 'rate',
  latency_ms: { integer_max: sandboxLimits.latency_ms_max },
  outage: 'flag',
  late_success_rate: 'rate',
  duplicate_notify_rate: 'rate',
} as const satisfies FaultSpec);

/** The one declaration is the platform's (every sandbox offers it). */
export type Faults = SandboxFaults;

export const noFaults: Faults = noFaultsOf(paymentFaultSpec);

export type FaultsValidation = FaultPatchValidation<Faults>;

/** Checks a fault patch from outside (an admin route body); the lead's route can answer 400 with `param`. */
export function validateFaults(input: unknown): FaultsValidation {
  return validateFaultPatch(paymentFaultSpec, input);
}

/** The payment sandboxes' fault state (a class of its own: the chaos test counts its rolls). */
export class FaultState extends FaultModel<typeof paymentFaultSpec> {
  constructor(random: () => number) {
    super(paymentFaultSpec, random);
  }
}
