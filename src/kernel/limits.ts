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
  /** Database pool connections. */
  database_pool_connections_max: 20,
  /** Channel call timeout. */
  channel_call_timeout_ms: 10_000,
  /** Attempts (channels tried) for one payment. */
  payment_attempts_max: 3,
  /** Refunds on one payment. */
  payment_refunds_max: 50,
  /** Parts one amount may be split into. */
  allocation_parts_max: 100_000,
  /** Attempts and refunds repaired in one sweep of the repair worker. */
  repair_batch_max: 200,
  /** Entries of each in-process cache of immutable facts (order totals, settled attempts). */
  facts_cache_entries_max: 100_000,
  /** Orders expired in one sweep of the expiry worker. */
  order_expiry_batch_max: 500,
  /** Rate limit per API key (generous by default: a benchmark at full speed is not throttled). */
  rate_limit_requests_per_minute_max: 600_000,
});

export type Limits = typeof limits;

export function checkLimits(l: Limits = limits): void {
  if (l.page_size_default > l.page_size_max) throw new Error('limits: page_size_default > page_size_max');
  if (l.amount_minor_max * BigInt(l.item_quantity_max) * BigInt(l.order_items_max) > 2n ** 63n - 1n) {
    throw new Error('limits: an order subtotal could overflow a bigint column');
  }
  if (l.order_coupons_max < 1) throw new Error('limits: order_coupons_max must be >= 1');
  if (l.transaction_retries_max < 1) throw new Error('limits: transaction_retries_max must be >= 1');
}
