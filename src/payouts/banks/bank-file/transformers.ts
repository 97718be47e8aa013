// The file-exchange bank: the payment file we upload (pain.001-like XML) and the status files we
// download (CSV), both pure. The file of an attempt is a function of the attempt alone, so a
// re-upload after a timeout sends the same name and the same bytes (the bank's idempotency).
import { assert } from '../../../kernel/errors.ts';
import { isSupportedCurrency } from '../../../kernel/currency.ts';
import { fromMajorUnitString, money, toMajorUnitString } from '../../../kernel/money.ts';
import { payoutLimits } from '../../limits.ts';
import type { BankResult, BankStatus, PayoutInstruction } from '../contract.ts';

/** ISO 20022 transaction statuses of the status file, every one the bank uses: its word -> ours. */
export const bankFileStatusMap: Readonly<Record<string, BankStatus>> = Object.freeze({
  ACSC: 'paid', // accepted, settlement completed
  ACCP: 'accepted',
  ACSP: 'accepted',
  PDNG: 'accepted',
  RJCT: 'rejected',
  RTRN: 'returned',
});

const statusHeader = 'end_to_end_id,reference,status,amount,currency,reason_code,booked_at';

function xmlText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** The one converter: minor units -> the file's decimal amount. */
export function toFileAmount(amount: bigint, currency: string): string {
  assert(amount > 0n, 'toFileAmount: a positive amount');
  return toMajorUnitString(money(amount, currency));
}

export function paymentFileName(attemptId: string): string {
  assert(/^[a-z0-9_]{1,60}$/.test(attemptId), 'paymentFileName: an attempt id');
  return `pain001_${attemptId}.xml`;
}

/** A pain.001 customer credit transfer initiation holding one transaction. */
export function paymentFile(instruction: PayoutInstruction, debtorName: string): string {
  const amount = toFileAmount(instruction.amount, instruction.currency);
  const created = instruction.createdAt.toISOString().slice(0, 19);
  const messageId = instruction.attemptId.slice(0, 35);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09">',
    '<CstmrCdtTrfInitn>',
    `<GrpHdr><MsgId>${xmlText(messageId)}</MsgId><CreDtTm>${created}</CreDtTm><NbOfTxs>1</NbOfTxs><CtrlSum>${amount}</CtrlSum><InitgPty><Nm>${xmlText(debtorName)}</Nm></InitgPty></GrpHdr>`,
    `<PmtInf><PmtInfId>${xmlText(messageId)}</PmtInfId><PmtMtd>TRF</PmtMtd><NbOfTxs>1</NbOfTxs><CtrlSum>${amount}</CtrlSum>`,
    `<ReqdExctnDt><Dt>${created.slice(0, 10)}</Dt></ReqdExctnDt><Dbtr><Nm>${xmlText(debtorName)}</Nm></Dbtr>`,
    '<CdtTrfTxInf>',
    `<PmtId><EndToEndId>${xmlText(instruction.attemptId)}</EndToEndId></PmtId>`,
    `<Amt><InstdAmt Ccy="${instruction.currency}">${amount}</InstdAmt></Amt>`,
    `<CdtrAgt><FinInstnId><Othr><Id>${xmlText(instruction.account.bank_code)}</Id></Othr></FinInstnId></CdtrAgt>`,
    `<Cdtr><Nm>${xmlText(instruction.account.holder_name)}</Nm></Cdtr>`,
    `<CdtrAcct><Id><Othr><Id>${xmlText(instruction.account.account_number)}</Id></Othr></Id></CdtrAcct>`,
    `<RmtInf><Ustrd>${xmlText(instruction.payoutId)}</Ustrd></RmtInf>`,
    '</CdtTrfTxInf>',
    '</PmtInf>',
    '</CstmrCdtTrfInitn>',
    '</Document>',
    '',
  ].join('\n');
}

export type StatusFile = { readonly ok: true; readonly updates: readonly BankResult[] } | { readonly ok: false; readonly reason: string };

/** Reads a status file; a file with one unreadable line is refused whole (it is read again later, and alerted on). */
export function readStatusFile(csv: string): StatusFile {
  const lines = csv.split('\n').map((line) => line.trim()).filter((line) => line.length > 0);
  if (lines[0] !== statusHeader) return { ok: false, reason: 'unexpected header' };
  if (lines.length - 1 > payoutLimits.status_file_lines_max) return { ok: false, reason: 'too many lines' };
  const updates: BankResult[] = [];
  for (const [index, line] of lines.slice(1).entries()) {
    const [endToEndId, reference, status, amountText, currency, reason] = line.split(',');
    if (endToEndId === undefined || status === undefined || amountText === undefined || currency === undefined || !isSupportedCurrency(currency)) return { ok: false, reason: `line ${index + 2}: malformed` };
    const amount = fromMajorUnitString(amountText, currency);
    if (amount === undefined) return { ok: false, reason: `line ${index + 2}: bad amount` };
    const mapped = Object.hasOwn(bankFileStatusMap, status) ? bankFileStatusMap[status]! : 'accepted'; // unknown: pending
    updates.push({ kind: 'result', attemptId: endToEndId, status: mapped, bankReference: reference ?? null, amount: amount.amount, currency, reason: reason === undefined || reason === '' ? null : reason });
  }
  return { ok: true, updates };
}

/** The status file names of a listing after `cursor`, oldest first, at most `max`. */
export function readListing(text: string, cursor: string, max: number): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((name) => /^[A-Za-z0-9_.-]{1,100}$/.test(name) && name > cursor)
    .sort()
    .slice(0, max);
}
