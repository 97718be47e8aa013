// The chart of accounts (DESIGN.md "Ledger") and account ids. Pure; no I/O.
//
// A logical account is `{type}:{owner}:{currency}`, e.g. `channel_receivable:card_a:USD`,
// `merchant_pending:mch_…:EUR`, `fee_revenue:platform:USD`. Balances are signed, debits minus
// credits; the chart says which sign is an account's normal balance and whether it may go
// against it ("negative").
//
// Hot accounts. Every posting to an account takes that account's row lock until its transaction
// commits, so one row that every payment touches serializes every payment. The platform's
// fee_revenue is such a row: it is split into `slots` physical rows
// (`fee_revenue:platform:USD#00` … `#15`), each posting going to the slot a hash of its event id
// picks (deterministic, so a replay compares equal), and its balance is the sum of its slots.
// Sixteen concurrent postings then meet on one row about 1/16 as often. A channel's
// channel_receivable (every capture on that channel touches it) is split the same way, and so is its channel_fee_expense. Slots are allowed only on
// accounts that may go negative: a floor per slot would refuse what the sum allows. A merchant's
// merchant_pending (which may go negative: a refund after settlement) is split too, because a big
// merchant's captures all credit it (one row held 350 payments/s of one merchant to the rate one
// row lock, held through commit, allows: docs/benchmarks.md); merchant_available keeps one row
// because payouts must check its floor exactly.

import { assert } from '../../kernel/errors.ts';
import { isSupportedCurrency } from '../../kernel/currency.ts';
import { ledgerLimits } from '../limits.ts';

export const accountTypes = [
  'channel_receivable',
  'merchant_pending',
  'merchant_available',
  'fee_revenue',
  'channel_fee_expense',
  'payout_in_transit',
  'bank_cash',
  'late_success_payable',
] as const;

export type AccountType = (typeof accountTypes)[number];
export type NormalBalance = 'debit' | 'credit';
export type OwnerKind = 'platform' | 'merchant' | 'channel' | 'bank';

export interface AccountRule {
  readonly ownerKind: OwnerKind;
  readonly normalBalance: NormalBalance;
  readonly allowNegative: boolean;
  /** Physical rows the account is split into (1: not split). */
  readonly slots: number;
  readonly meaning: string;
}

export const chartOfAccounts: Readonly<Record<AccountType, AccountRule>> = Object.freeze({
  channel_receivable: { ownerKind: 'channel', normalBalance: 'debit', allowNegative: true, slots: ledgerLimits.channel_receivable_slots, meaning: 'money a channel owes us for captured payments' },
  merchant_pending: { ownerKind: 'merchant', normalBalance: 'credit', allowNegative: true, slots: ledgerLimits.merchant_pending_slots, meaning: 'captured, not yet settled' },
  merchant_available: { ownerKind: 'merchant', normalBalance: 'credit', allowNegative: false, slots: 1, meaning: 'settled, can be paid out' },
  fee_revenue: { ownerKind: 'platform', normalBalance: 'credit', allowNegative: true, slots: ledgerLimits.fee_revenue_slots, meaning: 'our fees' },
  channel_fee_expense: { ownerKind: 'channel', normalBalance: 'debit', allowNegative: true, slots: ledgerLimits.channel_receivable_slots, meaning: 'what channels charge us' },
  payout_in_transit: { ownerKind: 'merchant', normalBalance: 'credit', allowNegative: false, slots: 1, meaning: 'sent to a bank, not yet confirmed' },
  // bank_cash may go negative: it is the platform's position at the bank as the ledger knows it.
  // Payouts credit it as soon as a bank pays; it is debited only when reconciliation books the
  // channels' settlements to our bank (Dr bank_cash / Cr channel_receivable), which comes later,
  // so until then the ledger shows the bank account below zero (docs/payouts.md).
  bank_cash: { ownerKind: 'bank', normalBalance: 'debit', allowNegative: true, slots: 1, meaning: 'our bank accounts' },
  // Never below zero: a late success is given back at most once, after it was booked.
  late_success_payable: { ownerKind: 'channel', normalBalance: 'credit', allowNegative: false, slots: 1, meaning: 'captured by a channel after its payment was final: owed back to the payer' },
});

for (const rule of Object.values(chartOfAccounts)) {
  assert(rule.slots >= 1 && rule.slots <= ledgerLimits.account_slots_max, 'chart: slots within account_slots_max');
  assert(rule.slots === 1 || rule.allowNegative, 'chart: only accounts that may go negative are split into slots');
}

/** A logical account. */
export interface AccountRef {
  readonly type: AccountType;
  readonly owner: string;
  readonly currency: string;
}

const ownerPattern = /^[A-Za-z0-9_.-]+$/;
export const platformOwner = 'platform';

export function isAccountType(value: unknown): value is AccountType {
  return typeof value === 'string' && (accountTypes as readonly string[]).includes(value);
}

export function account(type: AccountType, owner: string, currency: string): AccountRef {
  assert(isAccountType(type), `account: unknown type ${String(type)}`);
  assert(typeof owner === 'string' && owner.length <= ledgerLimits.account_owner_length_max && ownerPattern.test(owner), `account: bad owner ${String(owner)}`);
  assert(isSupportedCurrency(currency), `account: unsupported currency ${String(currency)}`);
  assert((chartOfAccounts[type].ownerKind === 'platform') === (owner === platformOwner), `account: ${type} is owned by a ${chartOfAccounts[type].ownerKind}`);
  return Object.freeze({ type, owner, currency });
}

export function feeRevenueAccount(currency: string): AccountRef {
  return account('fee_revenue', platformOwner, currency);
}

/** `{type}:{owner}:{currency}`. */
export function accountId(ref: AccountRef): string {
  return `${ref.type}:${ref.owner}:${ref.currency}`;
}

/** The logical account and slot of a physical account id (`type:owner:currency` or `…#07`). */
export function parseAccountId(id: string): { readonly account: AccountRef; readonly slot: number } {
  const [logical, slot] = id.split('#');
  assert(slot === undefined || /^\d{2}$/.test(slot), `parseAccountId: bad slot in ${id}`);
  const parts = (logical ?? '').split(':');
  assert(parts.length === 3, `parseAccountId: ${id} is not type:owner:currency`);
  const ref = account(parts[0] as AccountType, parts[1]!, parts[2]!);
  const result = { account: ref, slot: slot === undefined ? 0 : Number(slot) };
  assert(slotAccountId(result.account, result.slot) === id, `parseAccountId: ${id} round-trips`);
  return result;
}

/** The physical row of a logical account a posting goes to: slot 0 is the logical id itself. */
export function slotAccountId(ref: AccountRef, slot: number): string {
  const slots = chartOfAccounts[ref.type].slots;
  assert(Number.isInteger(slot) && slot >= 0 && slot < slots, `slotAccountId: slot ${slot} outside 0..${slots - 1}`);
  return slot === 0 ? accountId(ref) : `${accountId(ref)}#${String(slot).padStart(2, '0')}`;
}

/** FNV-1a, 32 bits: a stable, cheap spread of event ids over slots. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The slot a posting of `eventId` to `ref` goes to. */
export function slotFor(ref: AccountRef, eventId: string): number {
  const slots = chartOfAccounts[ref.type].slots;
  return slots === 1 ? 0 : fnv1a32(`${eventId}|${accountId(ref)}`) % slots;
}
