// The payout bank contract: what the payout flow needs from a bank, whatever its protocol (a
// JSON API, a file exchange). Outcomes are values: a `result` the bank gave (its status map
// behind it, exhaustive; anything unknown is `accepted`, i.e. pending), `not_sent` (certainly
// never left: safe to send again), `unknown` (may have reached the bank: send again with the
// same key, or ask).
import type { ChannelCallFailure } from '../../channels/contract.ts';

export interface BankAccount {
  readonly holder_name: string;
  readonly account_number: string;
  readonly bank_code: string;
}

/** One instruction to pay: the attempt id is its idempotency key and end-to-end id at the bank. */
export interface PayoutInstruction {
  readonly attemptId: string;
  readonly payoutId: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly account: BankAccount;
  /** When the attempt was created: whatever is derived from it (a file's creation time) is the same on every send. */
  readonly createdAt: Date;
}

export type BankStatus = 'accepted' | 'paid' | 'rejected' | 'returned';

/** What a bank said about one instruction (checked against it: amount and currency). */
export interface BankResult {
  readonly kind: 'result';
  readonly attemptId: string;
  readonly status: BankStatus;
  readonly bankReference: string | null;
  readonly amount: bigint;
  readonly currency: string;
  /** The bank's reason for a rejection or a return. */
  readonly reason: string | null;
}

export type BankOutcome = BankResult | ChannelCallFailure;
export type BankQueryOutcome = BankOutcome | { readonly kind: 'not_found' };
/** A cancel: `canceled` means the bank will never pay under this key. */
export type BankCancelOutcome = { readonly kind: 'canceled' } | BankOutcome;

export type BankNotificationVerdict = { readonly kind: 'verified'; readonly update: BankResult } | { readonly kind: 'rejected'; readonly reason: string };

/** Status files read from a file-exchange bank after `cursor`: their updates, and the new cursor. */
export type BankStatusPoll = { readonly kind: 'files'; readonly cursor: string; readonly updates: readonly BankResult[] } | ChannelCallFailure;

export interface PayoutBankConnector {
  readonly bank: string;
  submit(instruction: PayoutInstruction): Promise<BankOutcome>;
  /** Asks about one instruction (API banks); absent for banks whose news come in status files. */
  query?(instruction: PayoutInstruction): Promise<BankQueryOutcome>;
  /** Makes sure the bank never pays under this key (to fail over after retries ran out); absent: not offered. */
  cancel?(instruction: PayoutInstruction): Promise<BankCancelOutcome>;
  /** Reads the status files after `cursor` (file banks). */
  pollStatus?(cursor: string): Promise<BankStatusPoll>;
  /** Verifies a status notification (API banks) over its raw bytes before anything is read. */
  verifyNotification?(rawBody: Buffer, headers: Readonly<Record<string, string | string[] | undefined>>): BankNotificationVerdict;
  close(): void;
}

/** Checks a bank's answer against the instruction it answers: the same amount and currency, or a mismatch. */
export function matchesInstruction(result: BankResult, instruction: Pick<PayoutInstruction, 'attemptId' | 'amount' | 'currency'>): boolean {
  return result.attemptId === instruction.attemptId && result.amount === instruction.amount && result.currency === instruction.currency;
}
