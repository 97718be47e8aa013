// Every bound of the Alipay sandbox in one place.

export const alipaySandboxLimits = Object.freeze({
  /** Trades kept; beyond it the oldest are evicted (and then answered ACQ.TRADE_NOT_EXIST). */
  trades_max: 100_000,
  /** Refunds (out_request_no) per trade. */
  refunds_per_trade_max: 50,
  /** Rows of the sandbox's own books (the oracle for "nobody was charged twice"). */
  ledger_rows_max: 1_000_000,
  request_body_bytes_max: 256 * 1024,
  form_fields_max: 100,
  /** Alipay's own field limits. */
  out_trade_no_length_max: 64,
  out_request_no_length_max: 64,
  subject_length_max: 256,
  /** 100,000,000.00 yuan in fen. */
  amount_fen_max: 10_000_000_000n,
  /** Notifications waiting or in flight; attempts per notification and their timing. */
  notify_deliveries_max: 10_000,
  notify_attempts_max: 8, // Alipay sends up to 8 over 25 h (4m, 10m, 10m, 1h, 2h, 6h, 15h); here compressed
  notify_backoff_base_ms_default: 100,
  notify_attempt_timeout_ms: 5_000,
  notify_sockets_max: 64,
  notify_idle_socket_ms: 4_000,
  /** Faults. */
  timeout_hold_ms_default: 30_000,
  late_success_delay_ms_default: 250,
});
