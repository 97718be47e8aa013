// Stripe webhooks: verify `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`
// over the raw bytes before anything is read from them, then map the event to a notification.
// Stripe may send several v1 signatures (while a secret is being rolled): one match is enough.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ChannelNotification, NotificationVerdict } from '../contract.ts';
import { fromStripeAmount } from './amount.ts';
import { stripeConnectorLimits } from './limits.ts';
import { mapPaymentIntentStatus, readPaymentIntent, tradeNumberMetadataKey } from './transformers.ts';

export type SignatureCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

interface ParsedHeader {
  readonly timestamp: number;
  readonly signatures: readonly Buffer[];
}

function parseSignatureHeader(header: string): ParsedHeader | string {
  let timestamp: number | null = null;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const equals = part.indexOf('=');
    if (equals === -1) return 'malformed Stripe-Signature header';
    const key = part.slice(0, equals).trim();
    const value = part.slice(equals + 1).trim();
    if (key === 't') {
      if (timestamp !== null || !/^\d{1,12}$/.test(value)) return 'malformed Stripe-Signature timestamp';
      timestamp = Number(value);
    } else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) {
      signatures.push(Buffer.from(value, 'hex'));
    } // other schemes (v0) and malformed v1 values are ignored, as Stripe's libraries do
  }
  if (timestamp === null) return 'Stripe-Signature has no timestamp';
  if (signatures.length === 0) return 'Stripe-Signature has no v1 signature';
  return { timestamp, signatures };
}

export function verifyStripeSignature(
  rawBody: Buffer,
  header: string | undefined,
  secret: string,
  now_seconds: number,
  tolerance_seconds: number = stripeConnectorLimits.webhook_tolerance_seconds,
): SignatureCheck {
  if (secret === '') return { ok: false, reason: 'no webhook secret configured' };
  if (header === undefined || header === '') return { ok: false, reason: 'missing Stripe-Signature header' };
  const parsed = parseSignatureHeader(header);
  if (typeof parsed === 'string') return { ok: false, reason: parsed };
  const expected = createHmac('sha256', secret).update(`${parsed.timestamp}.`, 'utf8').update(rawBody).digest();
  const matched = parsed.signatures.some((signature) => signature.length === expected.length && timingSafeEqual(signature, expected));
  if (!matched) return { ok: false, reason: 'signature mismatch' };
  if (Math.abs(now_seconds - parsed.timestamp) > tolerance_seconds) return { ok: false, reason: `timestamp outside the ${tolerance_seconds} s tolerance` };
  return { ok: true };
}

function signatureHeader(headers: Readonly<Record<string, string | string[] | undefined>>): string | undefined | null {
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== 'stripe-signature') continue;
    if (Array.isArray(value)) return value.length === 1 ? value[0] : null; // several headers: refuse
    return value;
  }
  return undefined;
}

export function verifyStripeNotification(
  rawBody: Buffer,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  secret: string,
  now_seconds: number,
): NotificationVerdict {
  const header = signatureHeader(headers);
  if (header === null) return { kind: 'rejected', reason: 'more than one Stripe-Signature header' };
  const check = verifyStripeSignature(rawBody, header, secret, now_seconds);
  if (!check.ok) return { kind: 'rejected', reason: check.reason };
  let event: unknown;
  try {
    event = JSON.parse(rawBody.toString('utf8'));
  } catch {
    return { kind: 'rejected', reason: 'signed body is not JSON' };
  }
  return eventToVerdict(event);
}

/** A verified event: payment_intent.* events carry the intent as it was; other types are not payment outcomes. */
export function eventToVerdict(event: unknown): NotificationVerdict {
  if (typeof event !== 'object' || event === null) return { kind: 'rejected', reason: 'event is not an object' };
  const { id, object, type, data } = event as Record<string, unknown>;
  if (typeof id !== 'string' || object !== 'event' || typeof type !== 'string') return { kind: 'rejected', reason: 'malformed event' };
  if (!type.startsWith('payment_intent.')) return { kind: 'ignored', reason: `event type ${type} is not a payment outcome` };
  const pi = readPaymentIntent(typeof data === 'object' && data !== null ? (data as Record<string, unknown>)['object'] : undefined);
  if (pi === null) return { kind: 'rejected', reason: `${type} event without a payment_intent` };
  const out_trade_no = pi.metadata[tradeNumberMetadataKey];
  if (out_trade_no === undefined) return { kind: 'ignored', reason: `${pi.id} carries no ${tradeNumberMetadataKey}: not a Clearway payment` };
  const currency = pi.currency.toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency)) return { kind: 'rejected', reason: `bad currency ${pi.currency}` };
  const amount = fromStripeAmount(pi.amount, currency);
  if (amount === null) return { kind: 'rejected', reason: `bad amount ${String(pi.amount)}` };
  const notification: ChannelNotification = { event_id: id, out_trade_no, status: mapPaymentIntentStatus(pi).status, channel_txn_id: pi.id, amount, currency };
  return { kind: 'verified', notification };
}
