// Every bound of the Stripe sandbox in one place. Oldest entries are evicted first when a store
// is full (Map insertion order).
//
// Eviction has a visible consequence: an evicted PaymentIntent is no longer retrievable or
// searchable, so a query for its trade number is answered as if it had never been created, and
// an evicted idempotency key runs a retry afresh. Runs that rely on those answers (chaos tests,
// benchmarks) must stay below `capacity`, or raise it with the `capacity` option. Measured cost:
// about 2.3 KB of heap per confirmed payment sent with an Idempotency-Key (20,000 of them through
// the HTTP API, after a full GC), so about 230 MB at the default bound.
// The ledger (the oracle for "nobody was charged twice") has its own, much larger bound.

export const sandboxLimits = Object.freeze({
  /** Default capacity: PaymentIntents (with their charges), refunds, and idempotent responses each. */
  capacity_default: 100_000,
  capacity_max: 10_000_000,
  /** How long an idempotent response is kept (Stripe keeps them at least 24 h). */
  idempotency_retention_ms: 24 * 60 * 60 * 1000,
  idempotency_key_length_max: 255,
  /** Rows of the sandbox's own books (one per trade number that moved money; ~150 B each). */
  ledger_rows_max: 1_000_000,
  /** Form bodies and query strings. */
  request_body_bytes_max: 256 * 1024,
  form_params_max: 1_000,
  form_depth_max: 5,
  form_key_length_max: 200,
  form_array_index_max: 999,
  /** Stripe's metadata limits. */
  metadata_keys_max: 50,
  metadata_key_length_max: 40,
  metadata_value_length_max: 500,
  description_length_max: 1_000,
  /** Stripe's largest charge amount for most currencies (999,999.99 in a two-decimal currency). */
  amount_max: 99_999_999,
  /** List and search pages. */
  page_size_default: 10,
  page_size_max: 100,
  search_query_length_max: 5_000,
  search_clauses_max: 10,
  /** Webhook deliveries waiting or in flight, attempts per delivery, and their timing. */
  webhook_deliveries_max: 10_000,
  webhook_attempts_max: 5,
  webhook_backoff_base_ms: 100,
  webhook_attempt_timeout_ms: 5_000,
  /** Keep-alive sockets to the webhook endpoint, and how long one may idle (below Node's 5 s server default). */
  webhook_sockets_max: 256,
  webhook_idle_socket_ms: 4_000,
  /** Faults. */
  latency_ms_max: 120_000,
  timeout_hold_ms_default: 30_000,
  late_success_delay_ms_default: 250,
  /** Responses held back by the timeout fault at one time (beyond it, the response is sent). */
  held_responses_max: 10_000,
});

export type SandboxLimits = typeof sandboxLimits;
