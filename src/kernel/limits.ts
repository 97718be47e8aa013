// Every queue, batch, retry count, page size and body has a named maximum here.
// Units and qualifiers come last in each name. `checkLimits` runs at start-up.

export const limits = Object.freeze({
  /** Largest amount in minor units that any single money value may carry (10^12). */
  amount_minor_max: 1_000_000_000_000n,
  /** Largest quantity of one line item. */
  item_quantity_max: 10_000,
  /** Line items in one order. */
  order_items_max: 100,
  /** Coupons applied to one order. */
  order_coupons_max: 5,
  /** Length of short free text (names, codes, skus). */
  name_length_max: 200,
  code_length_max: 64,
  /** Metadata: keys per object and length of each key and value. */
  metadata_keys_max: 20,
  metadata_key_length_max: 40,
  metadata_value_length_max: 500,
  /** Idempotency keys. */
  idempotency_key_length_max: 255,
  idempotency_retention_ms: 24 * 60 * 60 * 1000,
  /** Request body in bytes. */
  request_body_bytes_max: 64 * 1024,
  /** Page sizes of list endpoints. */
  page_size_default: 10,
  page_size_max: 100,
  /** Retries of a transaction that lost a serialization race or a deadlock. */
  transaction_retries_max: 8,
  /**
   * Database pool connections per process (CLEARWAY_DB_POOL_SIZE). A few per database core: on
   * the 2-core benchmark machine 8 gave 598-638 payments/s where 20 gave 565-571 (docs/benchmarks.md).
   */
  database_pool_connections_max: 8,
  /**
   * Connections of the keyed lane (Database.keyed), besides the pool: the group-committed writes
   * of orders, payment starts and outcomes, each with one batch (or one lone write) at a time.
   */
  database_keyed_connections_max: 3,
  /** Channel call timeout. */
  channel_call_timeout_ms: 10_000,
  /** The most CLEARWAY_CHANNEL_TIMEOUT_MS may be set to (it must stay below the circuit's half-open delay). */
  channel_call_timeout_ms_max: 20_000,
  /** Channel accounts one process may be configured with (CLEARWAY_CHANNELS_FILE). */
  channels_configured_max: 64,
  /** Circuit breaker per channel: consecutive failed create calls (unknown, not_sent) that open it. */
  channel_circuit_failures_threshold: 5,
  /** How long an open circuit stays open before one trial call (default; CLEARWAY_CIRCUIT_HALF_OPEN_MS). */
  channel_circuit_half_open_ms_default: 30_000,
  channel_circuit_half_open_ms_max: 10 * 60 * 1000,
  /** Bulkhead per channel and process: calls in flight at once, and calls waiting for a slot. */
  channel_concurrent_calls_max: 256,
  channel_queued_calls_max: 1_024,
  /** Attempts (channels tried) for one payment. */
  payment_attempts_max: 3,
  /** Refunds on one payment. */
  payment_refunds_max: 50,
  /** Parts one amount may be split into. */
  allocation_parts_max: 100_000,
  /** Attempts and refunds repaired in one sweep of the repair worker. */
  repair_batch_max: 200,
  /** A payment waiting on the payer (QR code, redirect) is abandoned after this (default; CLEARWAY_ACTION_TTL_SECONDS). */
  payment_action_ttl_seconds_default: 900,
  payment_action_ttl_seconds_max: 7 * 24 * 3600,
  /** Abandoned payments closed in one sweep, and how long a claimed one is leased to its worker (must outlast a close and a query). */
  abandoned_payment_batch_max: 100,
  abandoned_payment_lease_ms: 60_000,
  /** Late-success refunds sent in one sweep, and how long a claimed one is leased (must outlast one refund call). */
  late_success_refund_batch_max: 100,
  late_success_refund_lease_ms: 60_000,
  /** Retry delay of a late-success refund left pending: doubles from the first, capped. */
  late_success_refund_retry_delay_ms_first: 30_000,
  late_success_refund_retry_delay_ms_max: 3_600_000,
  /** How long a process keeps a merchant's risk rules before reading them again. */
  risk_rules_cache_ms: 1_000,
  /** How long a process keeps a merchant's pricing before reading it again (src/pricing/store.ts). */
  pricing_cache_ms: 1_000,
  /** Rules in one merchant's pricing. */
  pricing_rules_max: 50,
  /** Entries of each in-process cache of immutable facts (order totals, settled attempts). */
  facts_cache_entries_max: 100_000,
  /** Payment outcomes committed together by one transaction, and such transactions at once (src/db/group-commit.ts): one, since a
   *  batch is one set-based statement and short. 3 in flight made smaller batches: about 20 % fewer payments/s on 2 cores, but a
   *  lower latency tail at half load (docs/benchmarks.md, session 4). */
  outcome_batch_max: 64,
  outcome_batches_in_flight_max: 1,
  /** Payment starts written together by one set-based statement, and such statements at once (src/payments/start-writes.ts). */
  payment_start_batch_max: 64,
  payment_start_batches_in_flight_max: 1,
  /** New orders (without coupons) written together by one set-based statement, and such statements at once (src/orders/order-writes.ts). */
  order_batch_max: 64,
  order_batches_in_flight_max: 1,
  /** Synchronous channel calls tracked at once (src/payments/attempts-in-flight.ts). */
  attempts_in_flight_max: 100_000,
  /** How long a notification waits for this process's synchronous call on the same attempt. */
  notification_in_flight_wait_ms: 2_000,
  /** Orders expired in one sweep of the expiry worker. */
  order_expiry_batch_max: 500,
  /** Rate limit per API key (generous by default: a benchmark at full speed is not throttled). */
  rate_limit_requests_per_minute_max: 600_000,
  /** Merchant webhooks: URL length, enabled endpoints per merchant, event types per endpoint. */
  webhook_url_length_max: 2_048,
  webhook_endpoints_per_merchant_max: 16,
  webhook_description_length_max: 500,
  /** Outbox events fanned out to deliveries in one relay batch, and batches in one relay run. */
  webhook_relay_batch_max: 500,
  webhook_relay_batches_per_run_max: 20,
  /** Deliveries claimed in one round of the delivery worker, and rounds in one run. */
  webhook_delivery_batch_max: 50,
  webhook_delivery_rounds_per_run_max: 20,
  /** One POST to a merchant's endpoint (connect, send, answer) must finish within this. */
  webhook_delivery_timeout_ms: 10_000,
  /** A claimed delivery is leased to its worker for this long (must outlast one POST). */
  webhook_delivery_lease_ms: 60_000,
  /** Retry schedule: exponential from the first delay, each delay capped, jittered down to half. */
  webhook_retry_delay_first_ms: 60_000,
  webhook_retry_delay_max_ms: 12 * 60 * 60 * 1000,
  /** A delivery is retried for up to this long after its event was fanned out, then failed. */
  webhook_retry_window_ms: 3 * 24 * 60 * 60 * 1000,
  /** Attempts of one delivery (a backstop: the window normally ends retries first). */
  webhook_delivery_attempts_max: 30,
  /** Characters of an endpoint's answer or error kept in the delivery log. */
  webhook_log_text_length_max: 500,
  /** Risk rules: velocity rules, entries of each of the block and allow lists, currencies per amount map. */
  risk_velocity_rules_max: 16,
  risk_list_entries_max: 1_000,
  risk_currencies_max: 64,
  /** Longest velocity window, and the count a velocity query stops at (it counts at most max_count). */
  risk_velocity_window_seconds_max: 30 * 24 * 60 * 60,
  risk_velocity_count_max: 10_000,
  /** Length of one screened signal (customer id, email, IP, card fingerprint). */
  risk_signal_length_max: 200,
  /** Routing policies: rules per policy, channel ids per prefer/exclude list. */
  routing_rules_max: 64,
  routing_channels_per_rule_max: 16,
  /** How long a process keeps a merchant's routing policy (a missing one included) before reading it again, and merchants' policies it keeps (src/routing/store.ts). */
  routing_policy_cache_ms: 1_000,
  routing_policy_cache_entries_max: 10_000,
  /** Routing's sliding success window (src/routing/success-window.ts): the last outcomes kept per channel and method, and how old a counted one may be. */
  routing_success_window_outcomes_max: 100,
  routing_success_window_ms: 10 * 60 * 1000,
  /** Channel × method windows one process keeps; fewer outcomes than samples_min in the window count as healthy. */
  routing_success_windows_max: 1_000,
  routing_success_samples_min: 5,
  /** Success rates are compared in steps of this many percentage points (a divisor of 100). */
  routing_success_rate_step_percent: 5,
  /** Length of an attempt's routing_reason, of a time zone name, and time zones whose formatter a process keeps. */
  routing_reason_length_max: 300,
  routing_time_zone_length_max: 64,
  routing_time_zones_cached_max: 64,
});

export type Limits = typeof limits;

export function checkLimits(l: Limits = limits): void {
  if (l.page_size_default > l.page_size_max) throw new Error('limits: page_size_default > page_size_max');
  if (l.amount_minor_max * BigInt(l.item_quantity_max) * BigInt(l.order_items_max) > 2n ** 63n - 1n) {
    throw new Error('limits: an order subtotal could overflow a bigint column');
  }
  if (l.order_coupons_max < 1) throw new Error('limits: order_coupons_max must be >= 1');
  if (l.transaction_retries_max < 1) throw new Error('limits: transaction_retries_max must be >= 1');
  if (l.channel_circuit_failures_threshold < 1) throw new Error('limits: channel_circuit_failures_threshold must be >= 1');
  if (l.channel_circuit_half_open_ms_default < 1 || l.channel_circuit_half_open_ms_default > l.channel_circuit_half_open_ms_max) {
    throw new Error('limits: channel_circuit_half_open_ms_default must be within 1..channel_circuit_half_open_ms_max');
  }
  if (l.channel_concurrent_calls_max < 1 || l.channel_queued_calls_max < 0) throw new Error('limits: channel bulkhead needs >= 1 slot and a queue >= 0');
  if (l.channel_circuit_half_open_ms_default <= l.channel_call_timeout_ms) {
    throw new Error('limits: an open circuit should outlast one call timeout (channel_circuit_half_open_ms_default > channel_call_timeout_ms)');
  }
  if (l.webhook_delivery_lease_ms <= 2 * l.webhook_delivery_timeout_ms) {
    throw new Error('limits: a webhook delivery lease must outlast two POST timeouts (webhook_delivery_lease_ms > 2 * webhook_delivery_timeout_ms)');
  }
  if (l.webhook_retry_delay_first_ms < 1 || l.webhook_retry_delay_first_ms > l.webhook_retry_delay_max_ms || l.webhook_retry_delay_max_ms > l.webhook_retry_window_ms) {
    throw new Error('limits: webhook retry delays must satisfy 1 <= first <= max <= window');
  }
  if (l.risk_velocity_rules_max < 1 || l.risk_velocity_count_max < 1 || l.risk_velocity_window_seconds_max < 1) throw new Error('limits: risk velocity limits must be >= 1');
  if (l.webhook_delivery_attempts_max < 2) throw new Error('limits: webhook_delivery_attempts_max must be >= 2');
  if (l.routing_success_samples_min < 1 || l.routing_success_samples_min > l.routing_success_window_outcomes_max) {
    throw new Error('limits: routing_success_samples_min must be within 1..routing_success_window_outcomes_max');
  }
  if (100 % l.routing_success_rate_step_percent !== 0) throw new Error('limits: routing_success_rate_step_percent must divide 100');
}
