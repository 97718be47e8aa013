// The connector contract: what the payment flow needs from any channel, whatever its protocol.
// Connectors are stateless translators; they never touch the database.
// Operating outcomes (a decline, a timeout) are values; only programmer errors throw.

export type ChannelMethod = 'card' | 'alipay' | 'wechat_pay';

export interface ChannelPaymentRequest {
  /** Our trade number for this attempt; sent as the channel's idempotency key. Unique per attempt. */
  readonly out_trade_no: string;
  readonly amount: bigint; // minor units
  readonly currency: string; // ISO 4217, upper case
  readonly method: ChannelMethod;
  readonly description: string;
  /** Method data from the payer (for cards: a payment method token such as pm_card_visa). */
  readonly payment_method_data: Readonly<Record<string, string>>;
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * What the channel said about a payment. `pending` covers every status the channel has not
 * made final (processing, requires_capture, ... and anything unknown).
 */
export type ChannelPaymentStatus = 'succeeded' | 'failed' | 'pending' | 'requires_action';

export interface ChannelPaymentResult {
  readonly kind: 'result';
  readonly status: ChannelPaymentStatus;
  readonly channel_txn_id: string | null;
  readonly amount: bigint;
  readonly currency: string;
  /** Channel's own decline or error code when status is failed. */
  readonly failure_code: string | null;
  readonly failure_message: string | null;
  /** True when the status map says a decline is definite and safe to retry on another channel. */
  readonly retryable_elsewhere: boolean;
  readonly next_action: { readonly type: 'qr_code' | 'redirect'; readonly url: string } | null;
}

/**
 * The call did not give a definite answer.
 * - `not_sent`: the request certainly never reached the channel (connection refused, circuit open):
 *   no money can have moved.
 * - `unknown`: it may have reached the channel (timeout, reset after sending, 5xx): ask the channel.
 */
export type ChannelCallFailure =
  | { readonly kind: 'not_sent'; readonly reason: string }
  | { readonly kind: 'unknown'; readonly reason: string };

export type ChannelPaymentOutcome = ChannelPaymentResult | ChannelCallFailure;

/**
 * The failure_code of a query result meaning "the channel has no payment with this trade
 * number". Right after an ambiguous call it proves little (the create may still be in flight at
 * the channel), so the payment flow keeps such an attempt `unknown` and lets the repair job ask
 * again once the attempt is old enough; only then is it taken as a definite failure.
 */
export const channelPaymentNotFound = 'not_found';

export interface ChannelRefundRequest {
  readonly out_trade_no: string; // the attempt's trade number
  readonly channel_txn_id: string | null;
  readonly out_refund_no: string; // our refund id, sent as the idempotency key
  readonly amount: bigint;
  readonly currency: string;
}

export type ChannelRefundStatus = 'succeeded' | 'failed' | 'pending';

export interface ChannelRefundResult {
  readonly kind: 'result';
  readonly status: ChannelRefundStatus;
  readonly channel_refund_id: string | null;
  readonly amount: bigint;
  readonly currency: string;
  readonly failure_code: string | null;
}

export type ChannelRefundOutcome = ChannelRefundResult | ChannelCallFailure;

/**
 * What the channel said when asked to close a trade the payer has not paid (a QR code or redirect
 * left waiting):
 * - `closed`: the trade is closed; the payer can no longer pay it;
 * - `not_found`: the channel has no such trade (Alipay creates a precreated trade only when the
 *   QR code is scanned): nothing was paid, and nothing can be on this trade number as it stands;
 * - `not_closable`: the trade cannot be closed because it was paid (or finished, or closed
 *   otherwise) meanwhile: query it and record what the query says.
 * `detail` is the channel's own code, for logs.
 */
export type ChannelCloseOutcome =
  | { readonly kind: 'result'; readonly status: 'closed' | 'not_found' | 'not_closable'; readonly detail: string | null }
  | ChannelCallFailure;

/** A verified notification from the channel about one attempt. */
export interface ChannelNotification {
  readonly event_id: string;
  readonly out_trade_no: string;
  readonly status: ChannelPaymentStatus;
  readonly channel_txn_id: string | null;
  readonly amount: bigint;
  readonly currency: string;
}

export type NotificationVerdict =
  | { readonly kind: 'verified'; readonly notification: ChannelNotification }
  | { readonly kind: 'ignored'; readonly reason: string } // verified, but not about a payment outcome
  | { readonly kind: 'rejected'; readonly reason: string }; // signature, age or shape is wrong

/** How to answer the provider's notification request, in its own protocol. */
export interface NotificationAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

export interface Connector {
  /** The channel id this instance is configured for (e.g. `card_stripe_a`). */
  readonly channel: string;
  readonly methods: readonly ChannelMethod[];
  createPayment(request: ChannelPaymentRequest): Promise<ChannelPaymentOutcome>;
  queryPayment(out_trade_no: string, expected: { amount: bigint; currency: string }): Promise<ChannelPaymentOutcome>;
  refund(request: ChannelRefundRequest): Promise<ChannelRefundOutcome>;
  /**
   * Closes an unpaid trade at the channel (Alipay `alipay.trade.close`, WeChat Pay's close). A
   * connector without a close flow (cards: nothing waits on the payer there) leaves it out, and
   * the abandoned-payment job then relies on the query and on late-success refunds.
   */
  closePayment?(out_trade_no: string): Promise<ChannelCloseOutcome>;
  verifyNotification(rawBody: Buffer, headers: Readonly<Record<string, string | string[] | undefined>>): NotificationVerdict;
  /**
   * The answer the provider expects once a notification was handled (`accepted`: verified and
   * recorded, or a harmless repeat) or refused (`accepted: false`: bad signature, mismatch). Alipay
   * wants the text `success`; WeChat Pay a 200 with a JSON code; Stripe any 2xx. When absent,
   * the platform answers JSON `{received}` with 200 or 400.
   */
  answerNotification?(accepted: boolean): NotificationAnswer;
}
