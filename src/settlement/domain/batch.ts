// A settlement batch: one merchant's day of money in one currency. Pure; no I/O.
//
// The transactions of a batch are the capture and refund journal entries of the merchant and
// currency whose created_at falls in the day's window, ordered by (created_at, entry id) and
// cut into chunks of control_chunk_transactions. For every chunk two sides are summed:
//   business  from the payments and refunds rows (amount_captured, fee_amount; amount, fee_returned)
//   ledger    from the entries' postings (the merchant_pending movement and the fee_revenue movement)
// and compared on four control totals: count, gross, fee and net (all signed: a refund counts
// negative). The first chunk that differs stops the batch; then the whole batch is compared the
// same way. A stopped batch posts nothing and keeps a report naming the chunk and the difference.
//
// Negative days. merchant_available may not go negative, so a day whose net (plus what earlier
// days carried) is below zero settles nothing and carries the shortfall forward to the merchant's
// next batch in that currency, which settles only what is left after covering it. The shortfall
// stays visible in merchant_pending (as a debit) until then. See docs/settlement.md.

import { assert } from '../../kernel/errors.ts';
import { transitionBy, type TransitionTable } from '../../kernel/state-machine.ts';
import { settlementLimits } from '../limits.ts';

export const controlTotalNames = ['count', 'gross', 'fee', 'net'] as const;
export type ControlTotalName = (typeof controlTotalNames)[number];
export type ControlTotals = Readonly<Record<ControlTotalName, bigint>>;

/** One chunk's sums, as the control-totals query returns them. */
export interface ChunkSums {
  /** 0-based chunk number; the chunk holds transactions chunk*size .. chunk*size+size-1. */
  readonly chunk: number;
  readonly firstSequence: number;
  readonly lastSequence: number;
  readonly business: ControlTotals;
  readonly ledger: ControlTotals;
  /** Business figures of the chunk (from the rows). */
  readonly figures: BatchFigures;
}

/** What the statement shows: from the payments and refunds rows. */
export interface BatchFigures {
  readonly captureCount: bigint;
  readonly refundCount: bigint;
  /** Captured amounts. */
  readonly gross: bigint;
  /** Refunded amounts (positive). */
  readonly refunds: bigint;
  /** Our fees on the captures. */
  readonly feesCharged: bigint;
  /** Fee given back by the refunds (positive). */
  readonly feesReturned: bigint;
}

export const zeroFigures: BatchFigures = Object.freeze({ captureCount: 0n, refundCount: 0n, gross: 0n, refunds: 0n, feesCharged: 0n, feesReturned: 0n });
export const zeroTotals: ControlTotals = Object.freeze({ count: 0n, gross: 0n, fee: 0n, net: 0n });

export function addFigures(a: BatchFigures, b: BatchFigures): BatchFigures {
  return {
    captureCount: a.captureCount + b.captureCount,
    refundCount: a.refundCount + b.refundCount,
    gross: a.gross + b.gross,
    refunds: a.refunds + b.refunds,
    feesCharged: a.feesCharged + b.feesCharged,
    feesReturned: a.feesReturned + b.feesReturned,
  };
}

export function addTotals(a: ControlTotals, b: ControlTotals): ControlTotals {
  return { count: a.count + b.count, gross: a.gross + b.gross, fee: a.fee + b.fee, net: a.net + b.net };
}

/** Net fees: charged less returned. */
export function feesOf(figures: BatchFigures): bigint {
  return figures.feesCharged - figures.feesReturned;
}

/** What the merchant earned that day: gross - refunds - fees. */
export function netOf(figures: BatchFigures): bigint {
  return figures.gross - figures.refunds - feesOf(figures);
}

/** The control totals the business figures imply (the business side of the check). */
export function totalsOfFigures(figures: BatchFigures): ControlTotals {
  return {
    count: figures.captureCount + figures.refundCount,
    gross: figures.gross - figures.refunds,
    fee: feesOf(figures),
    net: netOf(figures),
  };
}

export interface ControlMismatch {
  readonly total: ControlTotalName;
  readonly business: bigint;
  readonly ledger: bigint;
  /** business - ledger. */
  readonly difference: bigint;
}

export function mismatchesOf(business: ControlTotals, ledger: ControlTotals): ControlMismatch[] {
  return controlTotalNames
    .filter((name) => business[name] !== ledger[name])
    .map((name) => ({ total: name, business: business[name], ledger: ledger[name], difference: business[name] - ledger[name] }));
}

export type ControlFailure =
  | { readonly scope: 'chunk'; readonly chunk: number; readonly firstSequence: number; readonly lastSequence: number; readonly mismatches: readonly ControlMismatch[] }
  | { readonly scope: 'batch'; readonly mismatches: readonly ControlMismatch[] };

export interface ControlReport {
  readonly ok: boolean;
  /** Chunks verified before the check stopped (all of them when ok). */
  readonly chunksVerified: number;
  readonly chunkCount: number;
  readonly business: ControlTotals;
  readonly ledger: ControlTotals;
  readonly figures: BatchFigures;
  readonly failure: ControlFailure | null;
}

/**
 * Verifies the chunks in order, stopping at the first whose business and ledger totals differ,
 * then the whole batch against `wholeLedger`. Each chunk's business totals must also be what its figures say (the same
 * property on a second path: a query that summed the wrong rows fails here, not later).
 */
export function verifyControlTotals(chunks: readonly ChunkSums[], wholeLedger: ControlTotals): ControlReport {
  assert(chunks.length >= 1, 'verifyControlTotals: a batch has at least one chunk');
  const size = settlementLimits.control_chunk_transactions;
  let business = zeroTotals;
  let ledger = zeroTotals;
  let figures = zeroFigures;
  let failure: ControlFailure | null = null;
  for (const [index, chunk] of chunks.entries()) {
    assert(chunk.chunk === index, `verifyControlTotals: chunk ${index} in order`);
    assert(chunk.firstSequence === index * size && chunk.lastSequence >= chunk.firstSequence && chunk.lastSequence < (index + 1) * size, 'verifyControlTotals: chunk bounds');
    assert(index === chunks.length - 1 || chunk.lastSequence === (index + 1) * size - 1, 'verifyControlTotals: only the last chunk is short');
    assert(chunk.ledger.count === BigInt(chunk.lastSequence - chunk.firstSequence + 1), 'verifyControlTotals: the ledger count is the chunk length');
    const implied = totalsOfFigures(chunk.figures);
    assert(controlTotalNames.every((name) => implied[name] === chunk.business[name]), `verifyControlTotals: chunk ${index} business totals match its figures`);
    business = addTotals(business, chunk.business);
    ledger = addTotals(ledger, chunk.ledger);
    figures = addFigures(figures, chunk.figures);
    const mismatches = mismatchesOf(chunk.business, chunk.ledger).slice(0, settlementLimits.failure_mismatches_max);
    if (failure === null && mismatches.length > 0) {
      failure = { scope: 'chunk', chunk: index, firstSequence: chunk.firstSequence, lastSequence: chunk.lastSequence, mismatches };
    }
  }
  // The whole batch, once every chunk passed: the business sums against the ledger's totals of the
  // window summed by a second, separate query (it catches a chunking that dropped or doubled rows).
  const whole = mismatchesOf(business, wholeLedger);
  if (failure === null && whole.length > 0) failure = { scope: 'batch', mismatches: whole };
  const chunksVerified = failure === null ? chunks.length : failure.scope === 'chunk' ? failure.chunk : chunks.length;
  return { ok: failure === null, chunksVerified, chunkCount: chunks.length, business, ledger, figures, failure };
}

/** One sentence for logs and the stored report. */
export function describeFailure(failure: ControlFailure): string {
  const differences = failure.mismatches.map((m) => `${m.total} differs by ${m.difference} (business ${m.business}, ledger ${m.ledger})`).join('; ');
  const where = failure.scope === 'chunk' ? `chunk ${failure.chunk} (transactions ${failure.firstSequence}..${failure.lastSequence})` : 'the whole batch';
  return `control totals of ${where} do not match the ledger: ${differences}; the batch is stopped and nothing was posted`;
}

export interface SettlementAmounts {
  /** Moved from merchant_pending to merchant_available (>= 0). */
  readonly amountSettled: bigint;
  /** Shortfall handed to the next batch (<= 0). */
  readonly carriedOut: bigint;
}

/** Net plus what was carried in: settle what is positive, carry forward what is not. */
export function settlementAmounts(net: bigint, carriedIn: bigint): SettlementAmounts {
  assert(carriedIn <= 0n, 'settlementAmounts: only a shortfall is carried');
  const total = net + carriedIn;
  const result = total > 0n ? { amountSettled: total, carriedOut: 0n } : { amountSettled: 0n, carriedOut: total };
  assert(result.amountSettled >= 0n && result.carriedOut <= 0n, 'settlementAmounts: settle >= 0, carry <= 0');
  assert(result.amountSettled + result.carriedOut === net + carriedIn, 'settlementAmounts: nothing lost');
  return result;
}

/** The ledger event of a batch: one settlement entry per merchant, currency and day. */
export function settlementEventId(merchantId: string, currency: string, date: string): string {
  return `settlement:${merchantId}:${currency}:${date}`;
}

// ---------------------------------------------------------------- the batch state machine

export const batchStatuses = ['settled', 'failed'] as const;
export type BatchStatus = (typeof batchStatuses)[number];
export type BatchEvent = 'controls_passed' | 'controls_failed';

/**
 * A batch is created settled or failed. A failed batch is run again once its data is put right:
 * it settles, or fails again with a new report. A settled batch is final (a re-run only verifies it).
 */
export const batchTransitions: TransitionTable<BatchStatus, BatchEvent> = {
  failed: { controls_passed: 'settled', controls_failed: 'failed' },
  settled: {},
};

export function transitionBatch(state: BatchStatus, event: BatchEvent) {
  return transitionBy('settlement_batch', batchTransitions, state, event);
}
