// The JSON-API bank: pure request and response transformers, the one amount converter, the
// exhaustive status map, the checks of every answer against its instruction, and the webhook
// signature. No I/O.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { assert } from '../../../kernel/errors.ts';
import { isSupportedCurrency } from '../../../kernel/currency.ts';
import { fromMajorUnitString, money, toMajorUnitString } from '../../../kernel/money.ts';
import type { ChannelCallFailure } from '../../../channels/contract.ts';
import type { BankNotificationVerdict, BankQueryOutcome, BankResult, BankStatus, PayoutInstruction } from '../contract.ts';

/** The bank's transfer statuses, every one of them: its word -> ours. */
export const bankApiStatusMap: Readonly<Record<string, BankStatus>> = Object.freeze({
  pending: 'accepted',
  executed: 'paid',
  rejected: 'rejected',
  canceled: 'rejected',
  returned: 'returned',
});

/** The one converter: minor units -> the bank's decimal string of major units. */
export function toBankAmount(amount: bigint, currency: string): string {
  assert(amount > 0n, 'toBankAmount: a positive amount');
  return toMajorUnitString(money(amount, currency));
}

export function creditTransferBody(instruction: PayoutInstruction): Buffer {
  return Buffer.from(
    JSON.stringify({
      end_to_end_id: instruction.attemptId,
      amount: toBankAmount(instruction.amount, instruction.currency),
      currency: instruction.currency,
      creditor: { name: instruction.account.holder_name, account_number: instruction.account.account_number, bank_code: instruction.account.bank_code },
      remittance_information: instruction.payoutId,
    }),
    'utf8',
  );
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** A transfer object from the bank -> a result, or null when it is not one we can read. */
export function readTransfer(body: unknown): BankResult | null {
  if (typeof body !== 'object' || body === null) return null;
  const t = body as Record<string, unknown>;
  if (typeof t.end_to_end_id !== 'string' || typeof t.status !== 'string' || typeof t.currency !== 'string' || !isSupportedCurrency(t.currency)) return null;
  const status = Object.hasOwn(bankApiStatusMap, t.status) ? bankApiStatusMap[t.status]! : 'accepted'; // an unknown status is pending
  const canceledTombstone = t.status === 'canceled' && t.amount === null;
  const amount = typeof t.amount === 'string' ? fromMajorUnitString(t.amount, t.currency) : undefined;
  if (amount === undefined && !canceledTombstone) return null;
  const reason = typeof t.rejection_reason === 'string' ? t.rejection_reason : typeof t.return_reason === 'string' ? t.return_reason : null;
  return { kind: 'result', attemptId: t.end_to_end_id, status, bankReference: typeof t.id === 'string' ? t.id : null, amount: amount?.amount ?? 0n, currency: t.currency, reason };
}

/** Reads the answer to a create, query or cancel. */
export function readTransferResponse(status: number, raw: Buffer, instruction: PayoutInstruction): BankQueryOutcome | { readonly kind: 'canceled' } {
  if (status >= 500 || status === 429) return { kind: 'unknown', reason: `http ${status}` };
  const body = parseJson(raw);
  if (status === 404) return { kind: 'not_found' };
  if (status === 409) {
    // A cancel refused because the transfer was executed: the transfer is in the body.
    const transfer = readTransfer((body as { transfer?: unknown } | undefined)?.transfer);
    return transfer === null ? { kind: 'unknown', reason: 'http 409 without the transfer' } : checked(transfer, instruction);
  }
  if (status !== 200 && status !== 201) {
    // 400/401/422: our request is wrong (a bug or bad credentials); the bank ran nothing. Left
    // ambiguous on purpose: retried with the same key, and alerting through the logs.
    return { kind: 'unknown', reason: `http ${status}: ${raw.toString('utf8').slice(0, 200)}` };
  }
  const transfer = readTransfer(body);
  if (transfer === null) return { kind: 'unknown', reason: `http ${status}: not a credit transfer` };
  if (transfer.status === 'rejected' && transfer.amount === 0n) return { kind: 'canceled' }; // the tombstone of a cancel
  return checked(transfer, instruction);
}

function checked(transfer: BankResult, instruction: PayoutInstruction): BankResult | ChannelCallFailure {
  if (transfer.attemptId !== instruction.attemptId || transfer.currency !== instruction.currency || transfer.amount !== instruction.amount) {
    return { kind: 'unknown', reason: `the bank answered ${transfer.attemptId} ${transfer.amount} ${transfer.currency} for ${instruction.attemptId} ${instruction.amount} ${instruction.currency}` };
  }
  return transfer;
}

export function bankSignature(payload: Buffer, secret: string, timestampSeconds: number): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.`, 'utf8').update(payload).digest('hex');
}

/** Verifies `Bank-Signature: t=..,v1=..` over the raw body (within tolerance of `nowSeconds`), then reads the transfer. */
export function verifyBankApiNotification(raw: Buffer, header: string | undefined, secret: string, nowSeconds: number, toleranceSeconds: number): BankNotificationVerdict {
  if (typeof header !== 'string') return { kind: 'rejected', reason: 'no Bank-Signature header' };
  const parts = new Map(header.split(',').map((part) => [part.slice(0, part.indexOf('=')).trim(), part.slice(part.indexOf('=') + 1).trim()] as const));
  const t = parts.get('t');
  const v1 = parts.get('v1');
  if (t === undefined || !/^\d{1,12}$/.test(t) || v1 === undefined || !/^[0-9a-f]{64}$/.test(v1)) return { kind: 'rejected', reason: 'malformed Bank-Signature' };
  if (Math.abs(nowSeconds - Number(t)) > toleranceSeconds) return { kind: 'rejected', reason: 'Bank-Signature timestamp outside the tolerance' };
  const expected = Buffer.from(bankSignature(raw, secret, Number(t)), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(v1, 'hex'))) return { kind: 'rejected', reason: 'signature mismatch' };
  const event = parseJson(raw) as { type?: unknown; data?: unknown } | undefined;
  const transfer = readTransfer(event?.data);
  if (transfer === null || typeof event?.type !== 'string') return { kind: 'rejected', reason: 'not a credit transfer event' };
  return { kind: 'verified', update: transfer };
}
