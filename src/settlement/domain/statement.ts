// A merchant's settlement statement: the batch's transactions, one line each, and its totals.
// Pure; no I/O. Amounts are integers in minor units, signed from the merchant's side: a capture
// adds its gross and takes its fee, a refund takes its amount and gives back its fee part.

import { assert } from '../../kernel/errors.ts';
import { controlTotalNames, type ControlTotals } from './batch.ts';

export interface StatementLine {
  readonly type: 'capture' | 'refund';
  /** pay_… for a capture, ref_… for a refund. */
  readonly id: string;
  readonly paymentId: string;
  readonly createdAt: Date;
  /** Signed: + captured, - refunded. */
  readonly gross: bigint;
  /** Signed: + fee charged, - fee returned. */
  readonly fee: bigint;
}

export function lineNet(line: StatementLine): bigint {
  return line.gross - line.fee;
}

/** The control totals of a statement's lines (they must equal the batch's business totals). */
export function statementTotals(lines: readonly StatementLine[]): ControlTotals {
  let gross = 0n;
  let fee = 0n;
  for (const line of lines) {
    gross += line.gross;
    fee += line.fee;
  }
  return { count: BigInt(lines.length), gross, fee, net: gross - fee };
}

export function totalsEqual(a: ControlTotals, b: ControlTotals): boolean {
  return controlTotalNames.every((name) => a[name] === b[name]);
}

export interface StatementSummary {
  readonly batchId: string;
  readonly merchantId: string;
  readonly currency: string;
  readonly date: string;
  readonly gross: bigint;
  readonly refunds: bigint;
  readonly fees: bigint;
  readonly net: bigint;
  readonly carriedIn: bigint;
  readonly amountSettled: bigint;
  readonly carriedOut: bigint;
}

export const statementCsvHeader = ['type', 'id', 'payment_id', 'created_at', 'currency', 'gross', 'fee', 'net'] as const;

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function csvRow(fields: readonly string[]): string {
  assert(fields.length === statementCsvHeader.length, 'csvRow: one field per column');
  return fields.map(csvField).join(',') + '\r\n';
}

/**
 * The statement as CSV: a header, one row per transaction, then summary rows (type `total`,
 * `carried_in`, `settled`, `carried_out`) whose amounts sit in the net column (`total` also
 * fills gross and fee). Lines end with CRLF (RFC 4180).
 */
export function statementCsv(summary: StatementSummary, lines: readonly StatementLine[]): string {
  const out = [csvRow(statementCsvHeader)];
  for (const line of lines) {
    out.push(csvRow([line.type, line.id, line.paymentId, line.createdAt.toISOString(), summary.currency, String(line.gross), String(line.fee), String(lineNet(line))]));
  }
  const totals = statementTotals(lines);
  assert(totals.net === summary.net && totals.gross === summary.gross - summary.refunds && totals.fee === summary.fees, 'statementCsv: the lines add up to the batch');
  const summaryRow = (type: string, gross: string, fee: string, net: bigint) => csvRow([type, summary.batchId, '', '', summary.currency, gross, fee, String(net)]);
  out.push(summaryRow('total', String(totals.gross), String(totals.fee), totals.net));
  out.push(summaryRow('carried_in', '', '', summary.carriedIn));
  out.push(summaryRow('settled', '', '', summary.amountSettled));
  out.push(summaryRow('carried_out', '', '', summary.carriedOut));
  return out.join('');
}
