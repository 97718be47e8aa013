// Journal entry drafts and the builders of the entries payments post. Pure; no I/O.
// Amounts are signed minor units: a debit is positive, a credit negative. Every builder asserts
// that its entry balances before returning it; the database checks the same at commit.

import { assert } from '../../kernel/errors.ts';
import { divideRounded, isAmountWithinBound, money, type Money } from '../../kernel/money.ts';
import { ledgerLimits } from '../limits.ts';
import { account, accountId, chartOfAccounts, feeRevenueAccount, type AccountRef } from './accounts.ts';

export const entryKinds = ['capture', 'refund', 'reversal', 'channel_fee', 'settlement', 'payout', 'payout_paid', 'payout_return', 'late_capture', 'late_refund'] as const;
export type EntryKind = (typeof entryKinds)[number];

export interface PostingDraft {
  readonly account: AccountRef;
  /** Debit positive, credit negative, never zero. */
  readonly amount: bigint;
  /** The physical slot; absent: chosen by a hash of the event id (reversals pin the original's). */
  readonly slot?: number;
}

export interface EntryDraft {
  /** The business event that causes the entry (payment, refund, payout id…): one entry per event. */
  readonly eventId: string;
  readonly kind: EntryKind;
  readonly merchantId: string | null;
  /** The entry this one reverses (kind 'reversal' only). */
  readonly reverses: string | null;
  readonly postings: readonly PostingDraft[];
}

/** Sum of the postings per currency. */
export function totalsByCurrency(postings: readonly PostingDraft[]): Map<string, bigint> {
  const totals = new Map<string, bigint>();
  for (const posting of postings) totals.set(posting.account.currency, (totals.get(posting.account.currency) ?? 0n) + posting.amount);
  return totals;
}

export function isBalanced(postings: readonly PostingDraft[]): boolean {
  if (postings.length < 2) return false;
  for (const total of totalsByCurrency(postings).values()) if (total !== 0n) return false;
  return true;
}

/** Drafts entryDraft already checked and froze (frozen, so they cannot have changed since). */
const checkedDrafts = new WeakSet<EntryDraft>();

/**
 * Checks a draft (programmer errors: a builder or caller produced a wrong entry) and freezes it.
 * A draft it returned before is returned as it is: posting paths may call it again for free.
 */
export function entryDraft(draft: EntryDraft): EntryDraft {
  if (checkedDrafts.has(draft)) return draft;
  assert(typeof draft.eventId === 'string' && draft.eventId.length >= 1 && draft.eventId.length <= ledgerLimits.event_id_length_max, 'entry: event id length');
  assert((entryKinds as readonly string[]).includes(draft.kind), `entry: unknown kind ${String(draft.kind)}`);
  assert((draft.kind === 'reversal') === (draft.reverses !== null), 'entry: a reversal, and only a reversal, names the entry it reverses');
  assert(draft.postings.length >= 2 && draft.postings.length <= ledgerLimits.entry_postings_max, 'entry: 2..entry_postings_max postings');
  for (const posting of draft.postings) {
    assert(typeof posting.amount === 'bigint' && posting.amount !== 0n, 'entry: a posting amount is a nonzero bigint');
    assert(isAmountWithinBound(posting.amount), 'entry: a posting amount within amount_minor_max');
    assert(posting.slot === undefined || (Number.isInteger(posting.slot) && posting.slot >= 0 && posting.slot < chartOfAccounts[posting.account.type].slots), 'entry: slot within the account');
  }
  assert(isBalanced(draft.postings), `entry ${draft.eventId}: postings must sum to zero per currency`);
  const frozen = Object.freeze({ ...draft, postings: Object.freeze(draft.postings.map((p) => Object.freeze({ ...p }))) });
  checkedDrafts.add(frozen);
  return frozen;
}

/** Dr `debit` / Cr `credit` of `amount` (positive); nothing when the amount is zero. */
function transfer(debit: AccountRef, credit: AccountRef, amount: bigint): PostingDraft[] {
  assert(amount >= 0n, 'transfer: a non-negative amount');
  assert(debit.currency === credit.currency, 'transfer: one currency');
  return amount === 0n ? [] : [{ account: debit, amount }, { account: credit, amount: -amount }];
}

export interface CaptureInput {
  readonly eventId: string;
  readonly merchantId: string;
  readonly channel: string;
  readonly gross: Money;
  /** Our fee, already computed by the merchant's pricing; 0 <= fee <= gross. */
  readonly fee: Money;
  /** What the channel charges us for it (its fee schedule); absent: nothing. */
  readonly channelFee?: Money;
}

/**
 * Payment success: Dr channel_receivable / Cr merchant_pending (gross); Dr merchant_pending /
 * Cr fee_revenue (fee); and the channel's own fee, Dr channel_fee_expense / Cr channel_receivable
 * (the channel pays us the gross less its fee).
 */
export function captureEntry(input: CaptureInput): EntryDraft {
  const { gross, fee } = input;
  const channelFee = input.channelFee ?? money(0n, gross.currency);
  assert(gross.currency === fee.currency && channelFee.currency === gross.currency, 'capture: gross and fees in one currency');
  assert(gross.amount > 0n && fee.amount >= 0n && fee.amount <= gross.amount, 'capture: 0 < gross, 0 <= fee <= gross');
  assert(channelFee.amount >= 0n && channelFee.amount <= gross.amount, 'capture: 0 <= channel fee <= gross');
  const receivable = account('channel_receivable', input.channel, gross.currency);
  const pending = account('merchant_pending', input.merchantId, gross.currency);
  const draft = entryDraft({
    eventId: input.eventId,
    kind: 'capture',
    merchantId: input.merchantId,
    reverses: null,
    postings: [
      ...transfer(receivable, pending, gross.amount),
      ...transfer(pending, feeRevenueAccount(gross.currency), fee.amount),
      ...transfer(account('channel_fee_expense', input.channel, gross.currency), receivable, channelFee.amount),
    ],
  });
  assert(netOf(draft, pending) === -(gross.amount - fee.amount), 'capture: the merchant is credited gross minus fee');
  return draft;
}

/** Net signed movement of one logical account in an entry. */
export function netOf(draft: EntryDraft, ref: AccountRef): bigint {
  const id = accountId(ref);
  return draft.postings.filter((p) => accountId(p.account) === id).reduce((total, p) => total + p.amount, 0n);
}

/**
 * The part of a capture's fee returned once `refundedTotal` of its gross has been refunded:
 * fee × refundedTotal / gross, HALF_UP. Computed on the running total, so the fee parts of
 * several partial refunds add up to this exactly and a full refund returns the whole fee.
 */
export function feeReturnedAfter(gross: Money, fee: Money, refundedTotal: Money): Money {
  assert(gross.currency === fee.currency && fee.currency === refundedTotal.currency, 'feeReturnedAfter: one currency');
  assert(gross.amount > 0n && refundedTotal.amount >= 0n && refundedTotal.amount <= gross.amount, 'feeReturnedAfter: 0 <= refunded <= gross');
  const returned = divideRounded(fee.amount * refundedTotal.amount, gross.amount, 'HALF_UP');
  assert(returned >= 0n && returned <= fee.amount, 'feeReturnedAfter: within the fee');
  return money(returned, fee.currency);
}

export type FeePolicy = 'proportional' | 'retained';

export interface RefundInput {
  readonly eventId: string;
  readonly merchantId: string;
  readonly channel: string;
  /** The capture being refunded. */
  readonly gross: Money;
  readonly fee: Money;
  /** Refunded on this capture before this refund. */
  readonly refundedBefore: Money;
  readonly refund: Money;
  /** Per merchant pricing: return the fee in proportion, or keep it. */
  readonly feePolicy: FeePolicy;
  /** The merchant account the refund is taken from: pending before settlement, available after. */
  readonly merchantAccount: 'merchant_pending' | 'merchant_available';
}

export type RefundRejection = 'refund_amount_not_positive' | 'refund_exceeds_captured';

export type RefundResult =
  | { readonly ok: true; readonly entry: EntryDraft; readonly feeReturned: Money }
  | { readonly ok: false; readonly rejection: RefundRejection };

/**
 * A refund reverses the capture in proportion: Dr merchant / Cr channel_receivable (refund), and,
 * with a proportional fee policy, Dr fee_revenue / Cr merchant (the fee part). The refunded total
 * never exceeds the gross.
 */
export function refundEntry(input: RefundInput): RefundResult {
  const { gross, fee, refundedBefore, refund } = input;
  const currency = gross.currency;
  assert([fee, refundedBefore, refund].every((m) => m.currency === currency), 'refund: one currency');
  assert(gross.amount > 0n && fee.amount >= 0n && fee.amount <= gross.amount, 'refund: a valid capture');
  assert(refundedBefore.amount >= 0n && refundedBefore.amount <= gross.amount, 'refund: refunded before within the gross');
  if (refund.amount <= 0n) return { ok: false, rejection: 'refund_amount_not_positive' };
  if (refundedBefore.amount + refund.amount > gross.amount) return { ok: false, rejection: 'refund_exceeds_captured' };
  const after = money(refundedBefore.amount + refund.amount, currency);
  const feeReturned =
    input.feePolicy === 'retained'
      ? money(0n, currency)
      : money(feeReturnedAfter(gross, fee, after).amount - feeReturnedAfter(gross, fee, refundedBefore).amount, currency);
  const merchant = account(input.merchantAccount, input.merchantId, currency);
  const draft = entryDraft({
    eventId: input.eventId,
    kind: 'refund',
    merchantId: input.merchantId,
    reverses: null,
    postings: [
      ...transfer(merchant, account('channel_receivable', input.channel, currency), refund.amount),
      ...transfer(feeRevenueAccount(currency), merchant, feeReturned.amount),
    ],
  });
  assert(netOf(draft, merchant) === refund.amount - feeReturned.amount, 'refund: the merchant is debited the refund minus the fee returned');
  return { ok: true, entry: draft, feeReturned };
}

export interface LateSuccessInput {
  /** The late-success refund's id: the entries' event ids are `late_capture:{id}` and `late_refund:{id}`. */
  readonly lateSuccessRefundId: string;
  readonly channel: string;
  readonly amount: Money;
}

function lateSuccessMovement(kind: 'late_capture' | 'late_refund', input: LateSuccessInput, debit: AccountRef, credit: AccountRef): EntryDraft {
  assert(input.amount.amount > 0n, `${kind}: a positive amount`);
  // No merchant moves, so the entry names none.
  return entryDraft({ eventId: `${kind}:${input.lateSuccessRefundId}`, kind, merchantId: null, reverses: null, postings: transfer(debit, credit, input.amount.amount) });
}

/**
 * A late success: a channel captured money on an attempt whose payment was already final. That
 * money is no merchant's: Dr channel_receivable / Cr late_success_payable (owed back to the payer).
 */
export function lateCaptureEntry(input: LateSuccessInput): EntryDraft {
  const { currency } = input.amount;
  return lateSuccessMovement('late_capture', input, account('channel_receivable', input.channel, currency), account('late_success_payable', input.channel, currency));
}

/** The late success given back to the payer by the channel: Dr late_success_payable / Cr channel_receivable. */
export function lateRefundEntry(input: LateSuccessInput): EntryDraft {
  const { currency } = input.amount;
  return lateSuccessMovement('late_refund', input, account('late_success_payable', input.channel, currency), account('channel_receivable', input.channel, currency));
}

/** A posted entry, as the journal reads it back. */
export interface PostedEntry {
  readonly id: string;
  readonly eventId: string;
  readonly kind: string;
  readonly merchantId: string | null;
  readonly reverses: string | null;
  readonly createdAt: Date;
  readonly postings: readonly (PostingDraft & { readonly slot: number })[];
}

/** The reversal of any entry: every posting negated, on the same physical rows. */
export function reversalEntry(original: PostedEntry, eventId: string): EntryDraft {
  const draft = entryDraft({
    eventId,
    kind: 'reversal',
    merchantId: original.merchantId,
    reverses: original.id,
    postings: original.postings.map((p) => ({ account: p.account, amount: -p.amount, slot: p.slot })),
  });
  for (const [currency, total] of totalsByCurrency(original.postings)) assert(total === 0n, `reversal: the original balances in ${currency}`);
  return draft;
}

// ---------------------------------------------------------------- payouts (docs/payouts.md)

export interface PayoutEntryInput {
  /** The payout id: one entry per payout. */
  readonly eventId: string;
  readonly merchantId: string;
  readonly amount: Money;
}

/** One payout movement of `amount`: Dr `debit` / Cr `credit`, of `kind`, asserting who is credited what. */
function payoutMovement(kind: 'payout' | 'payout_paid' | 'payout_return', input: PayoutEntryInput, debit: AccountRef, credit: AccountRef): EntryDraft {
  assert(input.amount.amount > 0n, `${kind}: a positive amount`);
  const draft = entryDraft({ eventId: input.eventId, kind, merchantId: input.merchantId, reverses: null, postings: transfer(debit, credit, input.amount.amount) });
  assert(netOf(draft, credit) === -input.amount.amount && netOf(draft, debit) === input.amount.amount, `${kind}: ${accountId(credit)} is credited the amount`);
  return draft;
}

/** A payout is created: Dr merchant_available / Cr payout_in_transit (the floor of merchant_available refuses more than it holds). */
export function payoutEntry(input: PayoutEntryInput): EntryDraft {
  const { merchantId, amount } = input;
  return payoutMovement('payout', input, account('merchant_available', merchantId, amount.currency), account('payout_in_transit', merchantId, amount.currency));
}

export interface PayoutBankInput extends PayoutEntryInput {
  /** The bank channel that paid (or returned) it. */
  readonly bank: string;
}

/** A bank confirms it paid: Dr payout_in_transit / Cr bank_cash:{bank}. */
export function payoutPaidEntry(input: PayoutBankInput): EntryDraft {
  const { merchantId, amount } = input;
  return payoutMovement('payout_paid', input, account('payout_in_transit', merchantId, amount.currency), account('bank_cash', input.bank, amount.currency));
}

/** A paid payout bounces back later: Dr bank_cash:{bank} / Cr merchant_available (the money is the merchant's again). */
export function payoutReturnEntry(input: PayoutBankInput): EntryDraft {
  const { merchantId, amount } = input;
  return payoutMovement('payout_return', input, account('bank_cash', input.bank, amount.currency), account('merchant_available', merchantId, amount.currency));
}

// ---------------------------------------------------------------- settlement (docs/settlement.md)

export interface SettlementEntryInput {
  /** `settlement:{merchant}:{currency}:{date}`: one entry per batch. */
  readonly eventId: string;
  readonly merchantId: string;
  /** The batch's amount settled (> 0; a day that settles nothing posts nothing). */
  readonly amount: Money;
}

/** A settlement batch closes: Dr merchant_pending / Cr merchant_available (the net settled). */
export function settlementEntry(input: SettlementEntryInput): EntryDraft {
  assert(input.amount.amount > 0n, 'settlement: a positive amount');
  const pending = account('merchant_pending', input.merchantId, input.amount.currency);
  const available = account('merchant_available', input.merchantId, input.amount.currency);
  const draft = entryDraft({ eventId: input.eventId, kind: 'settlement', merchantId: input.merchantId, reverses: null, postings: transfer(pending, available, input.amount.amount) });
  assert(netOf(draft, available) === -input.amount.amount, 'settlement: the merchant\'s available balance is credited the amount');
  return draft;
}
