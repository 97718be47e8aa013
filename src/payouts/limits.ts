// Every bound of the payouts module. `checkPayoutLimits` runs when the payout banks are configured.

export const payoutLimits = Object.freeze({
  /** Payouts a worker claims in one sweep. */
  claim_batch_max: 50,
  /** How long a claimed payout is leased to its worker (must outlast one bank call and its recording). */
  lease_ms: 30_000,
  /** One call to a bank. */
  bank_call_timeout_ms: 10_000,
  /** Sends of one attempt with its one idempotency key before it is cancelled at the bank (to fail over). */
  attempt_sends_max: 8,
  /** Delay before the next send of an attempt after a transient error: doubles from the first, capped. */
  retry_delay_ms_first: 1_000,
  retry_delay_ms_max: 60_000,
  /** How long a submitted payout waits before the bank is asked about it again (webhooks or status files usually come first). */
  status_poll_ms: 30_000,
  /** Status files read in one poll of a file-exchange bank. */
  status_files_per_poll_max: 100,
  /** Merchants' settings looked at in one run of the scheduler. */
  schedule_batch_max: 500,
  /** Bank account fields. */
  holder_name_length_max: 70,
  /** Response bodies read from a bank. */
  response_body_bytes_max: 1024 * 1024,
  /** Keep-alive sockets per bank connector, and how long one may idle. */
  sockets_max: 16,
  idle_socket_ms: 4_000,
  /** Lines of one status file. */
  status_file_lines_max: 100_000,
});

export type PayoutLimits = typeof payoutLimits;

/** Timings a deployment (or a test) may shorten; bounded by the limits above. */
export interface PayoutTimings {
  readonly lease_ms: number;
  readonly retry_delay_ms_first: number;
  readonly retry_delay_ms_max: number;
  readonly status_poll_ms: number;
  readonly attempt_sends_max: number;
}

export const defaultPayoutTimings: PayoutTimings = Object.freeze({
  lease_ms: payoutLimits.lease_ms,
  retry_delay_ms_first: payoutLimits.retry_delay_ms_first,
  retry_delay_ms_max: payoutLimits.retry_delay_ms_max,
  status_poll_ms: payoutLimits.status_poll_ms,
  attempt_sends_max: payoutLimits.attempt_sends_max,
});

export function checkPayoutTimings(t: PayoutTimings): void {
  const whole = (value: number): boolean => Number.isInteger(value) && value >= 1;
  for (const [name, value] of Object.entries(t)) if (!whole(value)) throw new Error(`payout timings: ${name} must be an integer >= 1`);
  if (t.retry_delay_ms_first > t.retry_delay_ms_max) throw new Error('payout timings: retry_delay_ms_first <= retry_delay_ms_max');
  if (t.attempt_sends_max > payoutLimits.attempt_sends_max * 4) throw new Error('payout timings: attempt_sends_max too large');
}
