// When a failed webhook delivery is tried again. Pure: time, attempt number and randomness come in.
//
// Delay before attempt n+1 = min(first * 2^(n-1), max), jittered uniformly into [delay/2, delay]
// ("equal jitter": endpoints that failed together do not all come back at the same instant).
// No attempt is scheduled after `retryUntil` (the event's fan-out time + the three-day window):
// the last delay is cut so that one final attempt lands on it; a failure at or after it is final.
import { assert } from '../../kernel/errors.ts';
import { limits } from '../../kernel/limits.ts';

export type RetryDecision = { readonly kind: 'retry'; readonly at: Date } | { readonly kind: 'give_up'; readonly reason: 'window_ended' | 'attempts_exhausted' };

export interface RetryInput {
  /** Attempts made so far, the failed one included (>= 1). */
  readonly attempts: number;
  readonly now: Date;
  readonly retryUntil: Date;
  /** A number in [0, 1). */
  readonly random: number;
}

export function retryDelayMs(attempts: number, random: number): number {
  assert(Number.isInteger(attempts) && attempts >= 1, 'attempts is a positive integer');
  assert(random >= 0 && random < 1, 'random is in [0, 1)');
  const exponent = Math.min(attempts - 1, 40); // 2^40 minutes is far past the cap; keeps the number finite
  const delay = Math.min(limits.webhook_retry_delay_first_ms * 2 ** exponent, limits.webhook_retry_delay_max_ms);
  const jittered = Math.floor(delay / 2 + (random * delay) / 2);
  assert(jittered >= delay / 2 - 1 && jittered <= delay, 'the jittered delay stays within [delay/2, delay]');
  return jittered;
}

export function nextRetry(input: RetryInput): RetryDecision {
  if (input.attempts >= limits.webhook_delivery_attempts_max) return { kind: 'give_up', reason: 'attempts_exhausted' };
  if (input.now.getTime() >= input.retryUntil.getTime()) return { kind: 'give_up', reason: 'window_ended' };
  const at = Math.min(input.now.getTime() + retryDelayMs(input.attempts, input.random), input.retryUntil.getTime());
  assert(at > input.now.getTime(), 'a retry is scheduled in the future');
  return { kind: 'retry', at: new Date(at) };
}
