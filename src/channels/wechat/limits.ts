// Bounds of the WeChat Pay connector (the platform-wide ones live in src/kernel/limits.ts).

export const wechatConnectorLimits = Object.freeze({
  /** Largest response body read from WeChat Pay. */
  response_body_bytes_max: 1024 * 1024,
  /** Largest notification body accepted (WeChat's are a few KB). */
  notification_body_bytes_max: 64 * 1024,
  /** Age (either way) beyond which a signed notification or response is refused (WeChat's docs: 5 minutes). */
  signature_tolerance_seconds: 300,
  /** Largest timeout a connector may be configured with. */
  timeout_ms_max: 120_000,
  /** Keep-alive sockets per connector instance, and how long one may idle (below Node's 5 s server default). */
  sockets_max: 256,
  idle_socket_ms: 4_000,
  /** WeChat's field limits: out_trade_no 6..32, out_refund_no 1..64, description 1..127 characters. */
  out_trade_no_length_min: 6,
  out_trade_no_length_max: 32,
  out_refund_no_length_max: 64,
  description_length_max: 127,
  /** Length of the nonce_str we send (WeChat: up to 32). */
  nonce_length: 32,
});
