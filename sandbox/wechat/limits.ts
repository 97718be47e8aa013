// Every bound of the WeChat Pay sandbox in one place. Oldest entries are evicted first when a
// store is full (Map insertion order); an evicted order is answered as ORDER_NOT_EXIST.

export const wechatSandboxLimits = Object.freeze({
  /** Orders and refunds kept each. */
  capacity_default: 100_000,
  capacity_max: 10_000_000,
  /** Rows of the sandbox's own books (one per out_trade_no that moved money). */
  ledger_rows_max: 1_000_000,
  /** JSON request bodies. */
  request_body_bytes_max: 64 * 1024,
  /** WeChat's field limits. */
  out_trade_no_length_min: 6,
  out_trade_no_length_max: 32,
  out_refund_no_length_max: 64,
  description_length_max: 127,
  /** WeChat's `total` is a 32-bit int of fen. */
  amount_fen_max: 2_147_483_647,
  /** How far a request's signed timestamp may be from the sandbox's clock. */
  request_timestamp_tolerance_seconds: 300,
  /** Notification deliveries waiting or in flight, attempts per delivery (WeChat retries 15 times over a day; here faster), their timing. */
  notify_deliveries_max: 10_000,
  notify_attempts_max: 8,
  notify_backoff_base_ms: 100,
  notify_backoff_ms_max: 30_000,
  notify_attempt_timeout_ms: 5_000,
  notify_sockets_max: 64,
  notify_idle_socket_ms: 4_000,
  /** Faults. */
  timeout_hold_ms_default: 30_000,
  late_success_delay_ms_default: 250,
  /** Largest configurable duration (hold, delay, backoff). */
  duration_ms_max: 10 * 60_000,
});
