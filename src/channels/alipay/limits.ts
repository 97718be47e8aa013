// Bounds of the Alipay connector (the platform-wide ones live in src/kernel/limits.ts).

export const alipayConnectorLimits = Object.freeze({
  /** Largest response body read from the gateway. */
  response_body_bytes_max: 256 * 1024,
  /** Largest notification body we look at (Alipay's are a few KB). */
  notification_body_bytes_max: 64 * 1024,
  /** Form fields in one notification. */
  notification_fields_max: 100,
  /** Largest timeout a connector may be configured with. */
  timeout_ms_max: 120_000,
  /** Keep-alive sockets one connector instance keeps open to the gateway. */
  sockets_max: 256,
  /** Idle keep-alive sockets are closed after this long (below Node's 5 s server keep-alive). */
  idle_socket_ms: 4_000,
  /** Alipay's own limits on the fields we send (open.alipay.com API reference). */
  out_trade_no_length_max: 64,
  out_request_no_length_max: 64,
  subject_length_max: 256,
  /** Alipay's largest single trade: 100,000,000.00 yuan, in fen. */
  amount_fen_max: 10_000_000_000n,
});
