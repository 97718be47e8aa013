// What one stream event means to the finance projection. Pure; no I/O.
//
// Event payloads grow while other work lands (fees, journal entry ids, currencies on refunds),
// so a missing optional field reads as 0 (or null) with a named warning, and an event that
// cannot be placed at all (no amount, no currency) is skipped with a named reason. Both are
// counted by the consumer; neither stops the stream.
import { assert } from '../../kernel/errors.ts';
import { limits } from '../../kernel/limits.ts';
import { isSupportedCurrency } from '../../kernel/currency.ts';

export interface StreamEvent {
  readonly id: string;
  readonly merchant_id: string;
  readonly type: string;
  readonly payload: unknown;
  readonly created_at: Date;
}

export const financeKinds = ['payment', 'refund', 'payout_paid', 'payout_returned'] as const;
export type FinanceKind = (typeof financeKinds)[number];

/** The event types the projection reads, and what each becomes. */
export const financeEventKinds: Readonly<Record<string, FinanceKind>> = Object.freeze({
  'payment.succeeded': 'payment',
  'refund.succeeded': 'refund',
  'payout.paid': 'payout_paid',
  'payout.returned': 'payout_returned',
});

export type FinanceWarning =
  | 'missing_fee_amount'
  | 'missing_channel_fee_amount'
  | 'missing_fee_returned'
  | 'missing_journal_entry_id'
  | 'currency_from_payment';

export type SkipReason = 'invalid_amount' | 'missing_currency' | 'missing_object_id';

export interface FinanceFact {
  readonly eventId: string;
  readonly kind: FinanceKind;
  readonly merchantId: string;
  readonly currency: string;
  /** UTC day of the event, YYYY-MM-DD. */
  readonly day: string;
  readonly objectId: string;
  readonly amount: bigint;
  /** Our fee (payment) or the part of it returned (refund); 0 otherwise. */
  readonly fee: bigint;
  /** What the channel charged us (payment); 0 otherwise. */
  readonly channelFee: bigint;
  readonly journalEntryId: string | null;
}

export type Interpretation =
  | { readonly outcome: 'applied'; readonly fact: FinanceFact; readonly warnings: readonly FinanceWarning[] }
  | { readonly outcome: 'ignored' }
  | { readonly outcome: 'skipped'; readonly reason: SkipReason };

const objectIdField: Record<FinanceKind, string> = { payment: 'payment_id', refund: 'refund_id', payout_paid: 'payout_id', payout_returned: 'payout_id' };

/** Minor units from a payload field: a string of digits or a safe integer; null when absent or invalid. */
export function minorUnits(value: unknown): bigint | null {
  if (typeof value === 'string' && /^\d{1,13}$/.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  return null;
}

export function utcDay(at: Date): string {
  const day = at.toISOString().slice(0, 10);
  assert(/^\d{4}-\d{2}-\d{2}$/.test(day), 'an event time has a UTC day');
  return day;
}

/** The refund events whose payload lacks a currency: the consumer looks it up from their payment. */
export function paymentIdNeedingCurrency(event: StreamEvent): string | null {
  if (financeEventKinds[event.type] !== 'refund') return null;
  const payload = (event.payload ?? {}) as Record<string, unknown>;
  if (typeof payload.currency === 'string') return null;
  return typeof payload.payment_id === 'string' ? payload.payment_id : null;
}

/**
 * Reads one event. `paymentCurrency` answers the currency of a payment for refund events that do
 * not carry one yet (the payment's currency never changes).
 */
export function interpretFinanceEvent(event: StreamEvent, paymentCurrency: (paymentId: string) => string | undefined): Interpretation {
  const kind = financeEventKinds[event.type];
  if (kind === undefined) return { outcome: 'ignored' };
  const payload = (typeof event.payload === 'object' && event.payload !== null ? event.payload : {}) as Record<string, unknown>;
  const warnings: FinanceWarning[] = [];
  const objectId = payload[objectIdField[kind]];
  if (typeof objectId !== 'string' || objectId.length === 0) return { outcome: 'skipped', reason: 'missing_object_id' };
  const amount = minorUnits(payload.amount);
  if (amount === null || amount > limits.amount_minor_max) return { outcome: 'skipped', reason: 'invalid_amount' };
  let currency = typeof payload.currency === 'string' && isSupportedCurrency(payload.currency) ? payload.currency : undefined;
  if (currency === undefined && kind === 'refund' && typeof payload.payment_id === 'string') {
    currency = paymentCurrency(payload.payment_id);
    if (currency !== undefined) warnings.push('currency_from_payment');
  }
  if (currency === undefined) return { outcome: 'skipped', reason: 'missing_currency' };
  const optional = (field: string, warning: FinanceWarning): bigint => {
    const value = minorUnits(payload[field]);
    if (value === null) warnings.push(warning);
    return value ?? 0n;
  };
  const fee = kind === 'payment' ? optional('fee_amount', 'missing_fee_amount') : kind === 'refund' ? optional('fee_returned', 'missing_fee_returned') : 0n;
  const channelFee = kind === 'payment' ? optional('channel_fee_amount', 'missing_channel_fee_amount') : 0n;
  const journalEntryId = typeof payload.journal_entry_id === 'string' ? payload.journal_entry_id : null;
  if (journalEntryId === null) warnings.push('missing_journal_entry_id');
  const fact: FinanceFact = { eventId: event.id, kind, merchantId: event.merchant_id, currency, day: utcDay(event.created_at), objectId, amount, fee, channelFee, journalEntryId };
  assert(fact.amount >= 0n && fact.fee >= 0n && fact.channelFee >= 0n, 'a finance fact carries non-negative amounts');
  return { outcome: 'applied', fact, warnings };
}

/** The additions one fact makes to its day's row, by column of finance_daily. */
export function dailyIncrements(fact: FinanceFact): Readonly<Record<DailyColumn, bigint>> {
  const zero = zeroDailyTotals();
  switch (fact.kind) {
    case 'payment':
      return { ...zero, payments_count: 1n, gross_amount: fact.amount, fee_amount: fact.fee, channel_fee_amount: fact.channelFee };
    case 'refund':
      return { ...zero, refunds_count: 1n, refunded_amount: fact.amount, fee_returned_amount: fact.fee };
    case 'payout_paid':
      return { ...zero, payouts_count: 1n, payouts_amount: fact.amount };
    case 'payout_returned':
      return { ...zero, payout_returns_count: 1n, payout_returns_amount: fact.amount };
  }
}

export const dailyColumns = [
  'payments_count', 'gross_amount', 'fee_amount', 'channel_fee_amount', 'refunds_count', 'refunded_amount', 'fee_returned_amount',
  'payouts_count', 'payouts_amount', 'payout_returns_count', 'payout_returns_amount',
] as const;
export type DailyColumn = (typeof dailyColumns)[number];

export function zeroDailyTotals(): Record<DailyColumn, bigint> {
  return Object.fromEntries(dailyColumns.map((column) => [column, 0n])) as Record<DailyColumn, bigint>;
}
