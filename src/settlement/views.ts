// JSON shapes of settlement batches, statements, runs and settings, with their response schemas.
import { jsonAmount, jsonTime } from '../http/schemas.ts';
import { formatCutOff } from './domain/day-window.ts';
import { lineNet, type StatementLine } from './domain/statement.ts';
import type { BatchRecord } from './repository.ts';
import type { SettleDayReport, SettleResult } from './service.ts';
import { settleOutcomes } from './service.ts';
import type { SettlementSettings } from './settings.ts';

const integer = { type: 'integer' } as const;
const text = { type: 'string' } as const;
const nullableText = { type: ['string', 'null'] } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;

export const batchSchema = {
  type: 'object',
  required: ['id', 'object', 'merchant_id', 'currency', 'date', 'status', 'time_zone', 'cut_off', 'window', 'transaction_count', 'capture_count', 'refund_count',
    'gross', 'refunds', 'fees', 'fees_charged', 'fees_returned', 'net', 'carried_in', 'amount_settled', 'carried_out', 'control_totals', 'failure',
    'journal_entry_id', 'run_count', 'created_at', 'updated_at'],
  properties: {
    id: text, object: { type: 'string', const: 'settlement_batch' }, merchant_id: text, currency: text, date: text,
    status: { type: 'string', enum: ['settled', 'failed'] }, time_zone: text, cut_off: text,
    window: { type: 'object', required: ['start', 'end'], properties: { start: text, end: text } },
    transaction_count: integer, capture_count: integer, refund_count: integer,
    gross: integer, refunds: integer, fees: integer, fees_charged: integer, fees_returned: integer, net: integer,
    carried_in: integer, amount_settled: integer, carried_out: integer,
    control_totals: anyObject, failure: { type: ['object', 'null'], additionalProperties: true },
    journal_entry_id: nullableText, run_count: integer, created_at: text, updated_at: text,
  },
} as const;

export function batchView(batch: BatchRecord) {
  const { figures } = batch;
  return {
    id: batch.id,
    object: 'settlement_batch' as const,
    merchant_id: batch.merchantId,
    currency: batch.currency,
    date: batch.date,
    status: batch.status,
    time_zone: batch.timeZone,
    cut_off: formatCutOff(batch.cutOffMinutes),
    window: { start: batch.window.start.toISOString(), end: batch.window.end.toISOString() },
    transaction_count: jsonAmount(batch.transactionCount),
    capture_count: jsonAmount(figures.captureCount),
    refund_count: jsonAmount(figures.refundCount),
    gross: jsonAmount(figures.gross),
    refunds: jsonAmount(figures.refunds),
    fees: jsonAmount(batch.fees),
    fees_charged: jsonAmount(figures.feesCharged),
    fees_returned: jsonAmount(figures.feesReturned),
    net: jsonAmount(batch.net),
    carried_in: jsonAmount(batch.carriedIn),
    amount_settled: jsonAmount(batch.amountSettled),
    carried_out: jsonAmount(batch.carriedOut),
    control_totals: batch.controls,
    failure: batch.failure,
    journal_entry_id: batch.journalEntryId,
    run_count: batch.runCount,
    created_at: jsonTime(batch.createdAt)!,
    updated_at: jsonTime(batch.updatedAt)!,
  };
}

export const statementLineSchema = {
  type: 'object',
  required: ['type', 'id', 'payment_id', 'created_at', 'gross', 'fee', 'net'],
  properties: { type: { type: 'string', enum: ['capture', 'refund'] }, id: text, payment_id: text, created_at: text, gross: integer, fee: integer, net: integer },
} as const;

export const statementSchema = {
  type: 'object',
  required: ['object', 'batch', 'lines'],
  properties: { object: { type: 'string', const: 'settlement_statement' }, batch: batchSchema, lines: { type: 'array', items: statementLineSchema } },
} as const;

export function statementView(batch: BatchRecord, lines: readonly StatementLine[]) {
  return {
    object: 'settlement_statement' as const,
    batch: batchView(batch),
    lines: lines.map((line) => ({
      type: line.type, id: line.id, payment_id: line.paymentId, created_at: line.createdAt.toISOString(),
      gross: jsonAmount(line.gross), fee: jsonAmount(line.fee), net: jsonAmount(lineNet(line)),
    })),
  };
}

export const runSchema = {
  type: 'object',
  required: ['object', 'date', 'counts', 'results'],
  properties: {
    object: { type: 'string', const: 'settlement_run' },
    date: text,
    counts: { type: 'object', additionalProperties: integer },
    results: {
      type: 'array',
      items: {
        type: 'object',
        required: ['merchant_id', 'currency', 'outcome', 'batch', 'detail'],
        properties: { merchant_id: text, currency: nullableText, outcome: { type: 'string', enum: [...settleOutcomes] }, batch: { anyOf: [batchSchema, { type: 'null' }] }, detail: nullableText },
      },
    },
  },
} as const;

/** Results worth reporting: everything but the quiet days (no transactions, not closed yet), unless they are all there is. */
export function runView(report: SettleDayReport) {
  const quiet = new Set(['no_transactions', 'day_not_closed']);
  const shown = report.results.filter((r) => !quiet.has(r.outcome));
  const results = (shown.length > 0 || report.results.length > 1 ? shown : report.results).map((r: SettleResult) => ({
    merchant_id: r.merchantId, currency: r.currency, outcome: r.outcome, batch: r.batch ? batchView(r.batch) : null, detail: r.detail,
  }));
  return { object: 'settlement_run' as const, date: report.date, counts: report.counts, results };
}

export const settingsSchema = {
  type: 'object',
  required: ['object', 'merchant_id', 'time_zone', 'cut_off', 'custom', 'updated_at'],
  properties: { object: { type: 'string', const: 'settlement_settings' }, merchant_id: text, time_zone: text, cut_off: text, custom: { type: 'boolean' }, updated_at: nullableText },
} as const;

export function settingsView(settings: SettlementSettings) {
  return {
    object: 'settlement_settings' as const,
    merchant_id: settings.merchantId,
    time_zone: settings.timeZone,
    cut_off: formatCutOff(settings.cutOffMinutes),
    custom: settings.custom,
    updated_at: jsonTime(settings.updatedAt),
  };
}
