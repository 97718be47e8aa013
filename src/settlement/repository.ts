// settlement_batches rows: read, written once, and moved failed -> settled|failed by a re-run.
import type { Queryable } from '../db/database.ts';
import { assert, ClearwayError } from '../kernel/errors.ts';
import { newId } from '../kernel/ids.ts';
import type { BatchFigures, BatchStatus, ControlReport } from './domain/batch.ts';
import type { DayWindow } from './domain/day-window.ts';

export interface BatchRecord {
  readonly id: string;
  readonly merchantId: string;
  readonly currency: string;
  readonly date: string;
  readonly status: BatchStatus;
  readonly timeZone: string;
  readonly cutOffMinutes: number;
  readonly window: DayWindow;
  readonly transactionCount: bigint;
  readonly figures: BatchFigures;
  readonly fees: bigint;
  readonly net: bigint;
  readonly carriedIn: bigint;
  readonly amountSettled: bigint;
  readonly carriedOut: bigint;
  readonly controls: Record<string, unknown>;
  readonly failure: Record<string, unknown> | null;
  readonly eventId: string;
  readonly journalEntryId: string | null;
  readonly runCount: number;
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

interface BatchRow {
  id: string;
  merchant_id: string;
  currency: string;
  settlement_date: string;
  status: BatchStatus;
  time_zone: string;
  cut_off_minutes: number;
  window_start: Date;
  window_end: Date;
  transaction_count: bigint;
  capture_count: bigint;
  refund_count: bigint;
  gross: bigint;
  refunds: bigint;
  fees_charged: bigint;
  fees_returned: bigint;
  fees: bigint;
  net: bigint;
  carried_in: bigint;
  amount_settled: bigint;
  carried_out: bigint;
  controls: Record<string, unknown>;
  failure: Record<string, unknown> | null;
  event_id: string;
  journal_entry_id: string | null;
  run_count: number;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const columns = `id, merchant_id, currency, settlement_date::text AS settlement_date, status, time_zone, cut_off_minutes, window_start, window_end,
  transaction_count, capture_count, refund_count, gross, refunds, fees_charged, fees_returned, fees, net, carried_in, amount_settled, carried_out,
  controls, failure, event_id, journal_entry_id, run_count, version, created_at, updated_at`;

function fromRow(row: BatchRow): BatchRecord {
  const record: BatchRecord = {
    id: row.id,
    merchantId: row.merchant_id,
    currency: row.currency,
    date: row.settlement_date,
    status: row.status,
    timeZone: row.time_zone,
    cutOffMinutes: Number(row.cut_off_minutes),
    window: { start: new Date(row.window_start), end: new Date(row.window_end) },
    transactionCount: BigInt(row.transaction_count),
    figures: {
      captureCount: BigInt(row.capture_count),
      refundCount: BigInt(row.refund_count),
      gross: BigInt(row.gross),
      refunds: BigInt(row.refunds),
      feesCharged: BigInt(row.fees_charged),
      feesReturned: BigInt(row.fees_returned),
    },
    fees: BigInt(row.fees),
    net: BigInt(row.net),
    carriedIn: BigInt(row.carried_in),
    amountSettled: BigInt(row.amount_settled),
    carriedOut: BigInt(row.carried_out),
    controls: row.controls,
    failure: row.failure,
    eventId: row.event_id,
    journalEntryId: row.journal_entry_id,
    runCount: Number(row.run_count),
    version: Number(row.version),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
  assert(record.net === record.figures.gross - record.figures.refunds - record.fees, 'batch row: net = gross - refunds - fees');
  return record;
}

/** JSON of the controls as stored (integers in minor units). */
export function controlsJson(report: ControlReport, chunkTransactions: number): Record<string, unknown> {
  const totals = (t: ControlReport['business']) => ({ count: Number(t.count), gross: Number(t.gross), fee: Number(t.fee), net: Number(t.net) });
  return { chunk_transactions: chunkTransactions, chunks: report.chunkCount, chunks_verified: report.chunksVerified, business: totals(report.business), ledger: totals(report.ledger) };
}

export interface BatchWrite {
  readonly status: BatchStatus;
  readonly transactionCount: bigint;
  readonly figures: BatchFigures;
  readonly carriedIn: bigint;
  readonly amountSettled: bigint;
  readonly carriedOut: bigint;
  readonly controls: Record<string, unknown>;
  readonly failure: Record<string, unknown> | null;
  readonly journalEntryId: string | null;
}

function writeParams(write: BatchWrite): unknown[] {
  const { figures } = write;
  const fees = figures.feesCharged - figures.feesReturned;
  return [
    write.status, write.transactionCount, figures.captureCount, figures.refundCount, figures.gross, figures.refunds, figures.feesCharged, figures.feesReturned,
    fees, figures.gross - figures.refunds - fees, write.carriedIn, write.amountSettled, write.carriedOut, JSON.stringify(write.controls),
    write.failure === null ? null : JSON.stringify(write.failure), write.journalEntryId,
  ].map((value) => (typeof value === 'bigint' ? value.toString() : value));
}

export interface NewBatch {
  readonly id: string;
  readonly merchantId: string;
  readonly currency: string;
  readonly date: string;
  readonly timeZone: string;
  readonly cutOffMinutes: number;
  readonly window: DayWindow;
  readonly eventId: string;
}

export function newBatchId(): string {
  return newId('settlement_batch');
}

export async function insertBatch(tx: Queryable, batch: NewBatch, write: BatchWrite, now: Date): Promise<BatchRecord> {
  const { rows } = await tx.query<BatchRow>(
    `INSERT INTO settlement_batches (status, transaction_count, capture_count, refund_count, gross, refunds, fees_charged, fees_returned, fees, net,
       carried_in, amount_settled, carried_out, controls, failure, journal_entry_id,
       id, merchant_id, currency, settlement_date, time_zone, cut_off_minutes, window_start, window_end, event_id, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15::jsonb, $16,
       $17, $18, $19, $20::date, $21, $22, $23, $24, $25, $26, $26)
     RETURNING ${columns}`,
    [...writeParams(write), batch.id, batch.merchantId, batch.currency, batch.date, batch.timeZone, batch.cutOffMinutes, batch.window.start, batch.window.end, batch.eventId, now],
  );
  assert(rows.length === 1, 'insertBatch: one row');
  return fromRow(rows[0]!);
}

/** A re-run of a failed batch: written only if the row is still at the version read. */
export async function updateBatch(tx: Queryable, previous: BatchRecord, write: BatchWrite, now: Date): Promise<BatchRecord> {
  const { rows } = await tx.query<BatchRow>(
    `UPDATE settlement_batches SET status = $1, transaction_count = $2, capture_count = $3, refund_count = $4, gross = $5, refunds = $6,
       fees_charged = $7, fees_returned = $8, fees = $9, net = $10, carried_in = $11, amount_settled = $12, carried_out = $13,
       controls = $14::jsonb, failure = $15::jsonb, journal_entry_id = $16,
       run_count = run_count + 1, version = version + 1, updated_at = $17
     WHERE id = $18 AND version = $19
     RETURNING ${columns}`,
    [...writeParams(write), now, previous.id, previous.version],
  );
  if (rows.length !== 1) throw new ClearwayError('concurrent_update', `Settlement batch ${previous.id} changed while it ran again.`);
  return fromRow(rows[0]!);
}

export async function batchesOfDay(tx: Queryable, merchantId: string, date: string): Promise<BatchRecord[]> {
  const { rows } = await tx.query<BatchRow>(`SELECT ${columns} FROM settlement_batches WHERE merchant_id = $1 AND settlement_date = $2::date ORDER BY currency`, [merchantId, date]);
  return rows.map(fromRow);
}

/** Each currency's latest batch before `date`. */
export async function latestBatchesBefore(tx: Queryable, merchantId: string, date: string): Promise<BatchRecord[]> {
  const { rows } = await tx.query<BatchRow>(
    `SELECT DISTINCT ON (currency) ${columns} FROM settlement_batches WHERE merchant_id = $1 AND settlement_date < $2::date ORDER BY currency, settlement_date DESC`,
    [merchantId, date],
  );
  return rows.map(fromRow);
}

/** Currencies in which the merchant has a batch for a day after `date`. */
export async function currenciesWithLaterBatches(tx: Queryable, merchantId: string, date: string): Promise<string[]> {
  const { rows } = await tx.query<{ currency: string }>('SELECT DISTINCT currency FROM settlement_batches WHERE merchant_id = $1 AND settlement_date > $2::date', [merchantId, date]);
  return rows.map((row) => row.currency);
}

export async function findBatch(db: Queryable, merchantId: string, id: string): Promise<BatchRecord | null> {
  const { rows } = await db.query<BatchRow>(`SELECT ${columns} FROM settlement_batches WHERE id = $1 AND merchant_id = $2`, [id, merchantId]);
  return rows[0] ? fromRow(rows[0]) : null;
}

/** A merchant's batches, newest first, after the cursor `startingAfter` (API.md list conventions). */
export async function listBatches(db: Queryable, merchantId: string, page: { limit: number; starting_after?: string }): Promise<{ rows: BatchRecord[]; hasMore: boolean }> {
  const params: unknown[] = [merchantId, page.limit + 1];
  let cursor = '';
  if (page.starting_after !== undefined) {
    const after = await findBatch(db, merchantId, page.starting_after);
    if (after === null) throw new ClearwayError('invalid_param', `No settlement batch ${page.starting_after} to start after.`, { param: 'starting_after' });
    params.push(after.createdAt, after.id);
    cursor = 'AND (created_at, id) < ($3, $4)';
  }
  const { rows } = await db.query<BatchRow>(`SELECT ${columns} FROM settlement_batches WHERE merchant_id = $1 ${cursor} ORDER BY created_at DESC, id DESC LIMIT $2`, params);
  return { rows: rows.slice(0, page.limit).map(fromRow), hasMore: rows.length > page.limit };
}
