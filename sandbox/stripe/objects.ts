// The Stripe objects the sandbox keeps (records) and how they look on the wire (render*).
// Records hold only what the sandbox simulates; rendering fills the rest of Stripe's shape with
// the values a test-mode account would show.

export const stripeApiVersion = '2025-08-27.basil';

export const paymentIntentStatuses = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
  'processing',
  'requires_capture',
  'canceled',
  'succeeded',
] as const;
export type PaymentIntentStatus = (typeof paymentIntentStatuses)[number];

export interface CardDetails {
  readonly brand: string;
  readonly last4: string;
  readonly funding: 'credit' | 'debit' | 'prepaid';
}

export interface CardErrorDetails {
  readonly code: string;
  readonly decline_code: string | null;
  readonly message: string;
  readonly param: string | null;
}

export interface PaymentIntentRecord {
  readonly id: string;
  readonly client_secret: string;
  readonly amount: number;
  readonly currency: string;
  readonly created: number; // unix seconds
  readonly description: string | null;
  readonly metadata: Readonly<Record<string, string>>;
  readonly payment_method_types: readonly string[];
  /** Whose trade this is in the sandbox ledger: metadata.out_trade_no, else the idempotency key, else the id. */
  readonly ledger_key: string;
  status: PaymentIntentStatus;
  payment_method: string | null;
  latest_charge: string | null;
  last_payment_error: (CardErrorDetails & { readonly charge: string; readonly payment_method: string }) | null;
  amount_received: number;
  canceled_at: number | null;
  cancellation_reason: string | null;
}

export interface ChargeRecord {
  readonly id: string;
  readonly payment_intent: string;
  readonly amount: number;
  readonly currency: string;
  readonly created: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly payment_method: string;
  readonly card: CardDetails;
  status: 'pending' | 'succeeded' | 'failed';
  failure: CardErrorDetails | null;
  amount_refunded: number;
}

export interface RefundRecord {
  readonly id: string;
  readonly charge: string;
  readonly payment_intent: string;
  readonly amount: number;
  readonly currency: string;
  readonly created: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly reason: string | null;
  readonly status: 'succeeded';
}

export type Json = Record<string, unknown>;

export function renderPaymentIntent(pi: PaymentIntentRecord): Json {
  return {
    id: pi.id,
    object: 'payment_intent',
    amount: pi.amount,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: pi.amount_received,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: pi.canceled_at,
    cancellation_reason: pi.cancellation_reason,
    capture_method: 'automatic',
    client_secret: pi.client_secret,
    confirmation_method: 'automatic',
    created: pi.created,
    currency: pi.currency,
    customer: null,
    description: pi.description,
    last_payment_error: pi.last_payment_error === null ? null : renderPaymentError(pi.last_payment_error, pi.last_payment_error),
    latest_charge: pi.latest_charge,
    livemode: false,
    metadata: { ...pi.metadata },
    next_action: null,
    on_behalf_of: null,
    payment_method: pi.payment_method,
    payment_method_configuration_details: null,
    payment_method_options: { card: { installments: null, mandate_options: null, network: null, request_three_d_secure: 'automatic' } },
    payment_method_types: [...pi.payment_method_types],
    processing: null,
    receipt_email: null,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: pi.status,
    transfer_data: null,
    transfer_group: null,
  };
}

function renderPaymentError(error: CardErrorDetails, links: { charge: string; payment_method: string }): Json {
  return {
    type: 'card_error',
    code: error.code,
    decline_code: error.decline_code ?? undefined,
    doc_url: `https://stripe.com/docs/error-codes/${error.code.replace(/_/g, '-')}`,
    message: error.message,
    param: error.param ?? undefined,
    charge: links.charge,
    payment_method: { id: links.payment_method, object: 'payment_method', type: 'card' },
  };
}

export function renderCharge(charge: ChargeRecord): Json {
  const paid = charge.status === 'succeeded';
  return {
    id: charge.id,
    object: 'charge',
    amount: charge.amount,
    amount_captured: paid ? charge.amount : 0,
    amount_refunded: charge.amount_refunded,
    balance_transaction: null,
    captured: paid,
    created: charge.created,
    currency: charge.currency,
    failure_code: charge.failure?.code ?? null,
    failure_message: charge.failure?.message ?? null,
    livemode: false,
    metadata: { ...charge.metadata },
    outcome: renderOutcome(charge),
    paid,
    payment_intent: charge.payment_intent,
    payment_method: charge.payment_method,
    payment_method_details: {
      type: 'card',
      card: { brand: charge.card.brand, last4: charge.card.last4, exp_month: 12, exp_year: 2034, funding: charge.card.funding, country: 'US' },
    },
    refunded: charge.amount_refunded === charge.amount,
    status: charge.status,
  };
}

function renderOutcome(charge: ChargeRecord): Json {
  if (charge.status === 'failed') {
    const issuer = charge.failure?.code === 'processing_error' ? 'not_sent_to_network' : 'declined_by_network';
    return { network_status: issuer, reason: charge.failure?.decline_code ?? null, risk_level: 'normal', seller_message: 'The bank did not return any further details with this decline.', type: 'issuer_declined' };
  }
  return { network_status: 'approved_by_network', reason: null, risk_level: 'normal', seller_message: 'Payment complete.', type: 'authorized' };
}

export function renderRefund(refund: RefundRecord): Json {
  return {
    id: refund.id,
    object: 'refund',
    amount: refund.amount,
    balance_transaction: null,
    charge: refund.charge,
    created: refund.created,
    currency: refund.currency,
    metadata: { ...refund.metadata },
    payment_intent: refund.payment_intent,
    reason: refund.reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: refund.status,
    transfer_reversal: null,
  };
}

/** The body of a 402 card error, carrying the PaymentIntent as Stripe does. */
export function renderCardError(pi: PaymentIntentRecord): Json {
  const error = pi.last_payment_error;
  if (error === null) throw new Error('renderCardError: the PaymentIntent has no last_payment_error');
  return { error: { ...renderPaymentError(error, error), payment_intent: renderPaymentIntent(pi), request_log_url: null } };
}

export function renderEvent(event: { id: string; type: string; created: number; object: Json; request_id: string | null; idempotency_key: string | null }): Json {
  return {
    id: event.id,
    object: 'event',
    api_version: stripeApiVersion,
    created: event.created,
    data: { object: event.object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: event.request_id, idempotency_key: event.idempotency_key },
    type: event.type,
  };
}
