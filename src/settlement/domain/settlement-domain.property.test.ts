// Properties of the pure settlement core: day windows, control totals, net and carry-forward.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkSettlementLimits, settlementLimits } from '../limits.ts';
import {
  netOf, settlementAmounts, totalsOfFigures, transitionBatch, verifyControlTotals, zeroFigures,
  type BatchFigures, type ChunkSums, type ControlTotals,
} from './batch.ts';
import { addDays, canonicalTimeZone, dayWindow, formatCutOff, isSettlementDate, localTimeToInstant, parseCutOff, settlementDayOf, type SettlementSchedule } from './day-window.ts';
import { statementCsv, statementTotals, type StatementLine } from './statement.ts';

const zones = ['UTC', 'Asia/Shanghai', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Pacific/Kiritimati', 'Pacific/Pago_Pago', 'America/Santiago'];
const scheduleArb = fc.record({ timeZone: fc.constantFrom(...zones), cutOffMinutes: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1439 })) });
const dateArb = fc.date({ min: new Date('2001-01-01T00:00:00Z'), max: new Date('2039-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
const hour = 3_600_000;

describe('settlement days', () => {
  it('consecutive days meet exactly, and a day lasts 22.5 to 25.5 hours', () => {
    fc.assert(
      fc.property(scheduleArb, dateArb, (schedule, date) => {
        const day = dayWindow(date, schedule);
        const next = dayWindow(addDays(date, 1), schedule);
        expect(next.start.getTime()).toBe(day.end.getTime());
        const length = day.end.getTime() - day.start.getTime();
        expect(length).toBeGreaterThanOrEqual(22.5 * hour);
        expect(length).toBeLessThanOrEqual(25.5 * hour);
      }),
      { numRuns: 300 },
    );
  });

  it('every instant belongs to exactly the day whose window holds it; at the cut-off it is the next day', () => {
    fc.assert(
      fc.property(scheduleArb, fc.date({ min: new Date('2001-01-02T00:00:00Z'), max: new Date('2039-12-30T00:00:00Z'), noInvalidDate: true }), (schedule, instant) => {
        const date = settlementDayOf(instant, schedule);
        const window = dayWindow(date, schedule);
        expect(window.start.getTime() <= instant.getTime() && instant.getTime() < window.end.getTime()).toBe(true);
        expect(settlementDayOf(window.end, schedule)).toBe(addDays(date, 1));
        expect(settlementDayOf(new Date(window.end.getTime() - 1), schedule)).toBe(date);
      }),
      { numRuns: 300 },
    );
  });

  it('reads cut-offs and zones, and knows the calendar', () => {
    expect(parseCutOff('18:30')).toBe(1110);
    expect(parseCutOff('24:00')).toBeUndefined();
    expect(parseCutOff('7:00')).toBeUndefined();
    expect(formatCutOff(0)).toBe('00:00');
    fc.assert(fc.property(fc.integer({ min: 0, max: 1439 }), (minutes) => {
      expect(parseCutOff(formatCutOff(minutes))).toBe(minutes);
    }));
    expect(canonicalTimeZone('Asia/Shanghai')).toBe('Asia/Shanghai');
    expect(canonicalTimeZone('Mars/Olympus_Mons')).toBeUndefined();
    expect(canonicalTimeZone('../etc/passwd')).toBeUndefined();
    expect(isSettlementDate('2026-02-29')).toBe(false);
    expect(isSettlementDate('2028-02-29')).toBe(true);
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
  });

  it('places the known boundaries: UTC midnight, Shanghai 18:00, and the New York clock changes', () => {
    const utc: SettlementSchedule = { timeZone: 'UTC', cutOffMinutes: 0 };
    expect(dayWindow('2026-03-10', utc)).toEqual({ start: new Date('2026-03-10T00:00:00Z'), end: new Date('2026-03-11T00:00:00Z') });
    const shanghai: SettlementSchedule = { timeZone: 'Asia/Shanghai', cutOffMinutes: 18 * 60 };
    expect(dayWindow('2026-03-10', shanghai)).toEqual({ start: new Date('2026-03-09T10:00:00Z'), end: new Date('2026-03-10T10:00:00Z') });
    expect(settlementDayOf(new Date('2026-03-10T09:59:59.999Z'), shanghai)).toBe('2026-03-10');
    expect(settlementDayOf(new Date('2026-03-10T10:00:00.000Z'), shanghai)).toBe('2026-03-11');
    const newYork: SettlementSchedule = { timeZone: 'America/New_York', cutOffMinutes: 0 };
    // 2026-03-08: clocks go forward at 02:00; the day is 23 hours long. 2026-11-01: back; 25 hours.
    const spring = dayWindow('2026-03-08', newYork);
    expect(spring).toEqual({ start: new Date('2026-03-08T05:00:00Z'), end: new Date('2026-03-09T04:00:00Z') });
    const autumn = dayWindow('2026-11-01', newYork);
    expect(autumn.end.getTime() - autumn.start.getTime()).toBe(25 * hour);
    // 02:30 does not happen on 2026-03-08 in New York: it is read as 03:30 EDT.
    expect(localTimeToInstant('2026-03-08', 150, 'America/New_York')).toEqual(new Date('2026-03-08T07:30:00Z'));
    // 01:30 happens twice on 2026-11-01: the first (EDT) is taken.
    expect(localTimeToInstant('2026-11-01', 90, 'America/New_York')).toEqual(new Date('2026-11-01T05:30:00Z'));
  });
});

const figuresArb: fc.Arbitrary<BatchFigures> = fc
  .record({
    captureCount: fc.integer({ min: 0, max: 500 }),
    refundCount: fc.integer({ min: 0, max: 500 }),
    gross: fc.bigInt({ min: 0n, max: 10n ** 12n }),
    refunds: fc.bigInt({ min: 0n, max: 10n ** 12n }),
    feesCharged: fc.bigInt({ min: 0n, max: 10n ** 10n }),
    feesReturned: fc.bigInt({ min: 0n, max: 10n ** 10n }),
  })
  .map((f) => ({ ...f, captureCount: BigInt(f.captureCount), refundCount: BigInt(f.refundCount) }));

/** Chunks whose ledger side agrees with the business side, and the whole-batch ledger totals. */
function agreeingChunks(list: readonly BatchFigures[]): { chunks: ChunkSums[]; whole: ControlTotals } {
  const size = settlementLimits.control_chunk_transactions;
  const chunks = list.map((figures, chunk) => {
    const length = BigInt(chunk === list.length - 1 ? 1 + (Number(figures.gross % 997n) % size) : size);
    const refundCount = figures.refundCount < length ? figures.refundCount : length;
    const fixed = { ...figures, refundCount, captureCount: length - refundCount };
    const totals = totalsOfFigures(fixed);
    return { chunk, firstSequence: chunk * size, lastSequence: chunk * size + Number(length) - 1, figures: fixed, business: totals, ledger: { ...totals } };
  });
  const whole = chunks.reduce((t, c) => ({ count: t.count + c.ledger.count, gross: t.gross + c.ledger.gross, fee: t.fee + c.ledger.fee, net: t.net + c.ledger.net }), { count: 0n, gross: 0n, fee: 0n, net: 0n });
  return { chunks, whole };
}

describe('control totals', () => {
  it('pass when every chunk agrees, and sum the figures', () => {
    fc.assert(
      fc.property(fc.array(figuresArb, { minLength: 1, maxLength: 8 }), (list) => {
        const { chunks, whole } = agreeingChunks(list);
        const report = verifyControlTotals(chunks, whole);
        expect(report.ok).toBe(true);
        expect(report.chunksVerified).toBe(chunks.length);
        expect(report.business).toEqual(whole);
        expect(netOf(report.figures)).toBe(whole.net);
      }),
    );
  });

  it('stop at the first chunk that differs, naming it and the difference', () => {
    fc.assert(
      fc.property(
        fc.array(figuresArb, { minLength: 1, maxLength: 8 }),
        fc.nat(),
        fc.bigInt({ min: 1n, max: 10n ** 9n }),
        fc.constantFrom('gross' as const, 'fee' as const, 'net' as const),
        (list, pick, delta, total) => {
          const { chunks, whole } = agreeingChunks(list);
          const bad = pick % chunks.length;
          const corrupted = chunks.map((c, i) => (i === bad ? { ...c, ledger: { ...c.ledger, [total]: c.ledger[total] + delta } } : c));
          const report = verifyControlTotals(corrupted, whole);
          expect(report.ok).toBe(false);
          expect(report.failure).toMatchObject({ scope: 'chunk', chunk: bad, firstSequence: bad * settlementLimits.control_chunk_transactions });
          expect(report.chunksVerified).toBe(bad);
          expect(report.failure!.mismatches).toContainEqual({ total, business: chunks[bad]!.business[total], ledger: chunks[bad]!.ledger[total] + delta, difference: -delta });
        },
      ),
    );
  });

  it('fail the whole batch when the chunks agree but the ledger total of the window does not', () => {
    const { chunks, whole } = agreeingChunks([{ ...zeroFigures, captureCount: 3n, gross: 300n, feesCharged: 9n }]);
    const report = verifyControlTotals(chunks, { ...whole, count: whole.count + 1n });
    expect(report.failure).toEqual({ scope: 'batch', mismatches: [{ total: 'count', business: whole.count, ledger: whole.count + 1n, difference: -1n }] });
  });
});

describe('net and carry-forward', () => {
  it('settles what is positive, carries what is not, and loses nothing over a run of days', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: -(10n ** 9n), max: 10n ** 9n }), { minLength: 1, maxLength: 30 }), (nets) => {
        let carried = 0n;
        let settled = 0n;
        for (const net of nets) {
          const amounts = settlementAmounts(net, carried);
          expect(amounts.amountSettled >= 0n && amounts.carriedOut <= 0n).toBe(true);
          expect(amounts.amountSettled === 0n || amounts.carriedOut === 0n).toBe(true);
          settled += amounts.amountSettled;
          carried = amounts.carriedOut;
        }
        const total = nets.reduce((a, b) => a + b, 0n);
        expect(settled + carried).toBe(total); // everything earned is settled or still carried
        expect(settled).toBeGreaterThanOrEqual(total > 0n ? total : 0n);
      }),
    );
  });

  it('a batch is settled or failed; a failed one may run again; a settled one is final', () => {
    expect(transitionBatch('failed', 'controls_passed')).toEqual({ ok: true, state: 'settled' });
    expect(transitionBatch('failed', 'controls_failed')).toEqual({ ok: true, state: 'failed' });
    expect(transitionBatch('settled', 'controls_failed')).toEqual({ ok: false, rejection: 'settlement_batch_controls_failed_not_allowed_from_settled' });
    expect(() => checkSettlementLimits()).not.toThrow();
  });
});

describe('statements', () => {
  const lineArb: fc.Arbitrary<StatementLine> = fc.record({
    type: fc.constantFrom('capture' as const, 'refund' as const),
    id: fc.stringMatching(/^(pay|ref)_[a-z0-9]{24}$/),
    paymentId: fc.stringMatching(/^pay_[a-z0-9]{24}$/),
    createdAt: fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-01-01T00:00:00Z'), noInvalidDate: true }),
    gross: fc.bigInt({ min: 1n, max: 10n ** 9n }),
    fee: fc.bigInt({ min: 0n, max: 10n ** 6n }),
  }).map((line) => (line.type === 'refund' ? { ...line, gross: -line.gross, fee: -line.fee } : line));

  it('CSV has one row per line plus four summary rows, and its lines add up to the batch', () => {
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 40 }), (lines) => {
        const totals = statementTotals(lines);
        const refunds = -lines.filter((l) => l.type === 'refund').reduce((t, l) => t + l.gross, 0n);
        const amounts = settlementAmounts(totals.net, 0n);
        const csv = statementCsv({ batchId: 'stl_x', merchantId: 'mch_x', currency: 'USD', date: '2026-01-01', gross: totals.gross + refunds, refunds, fees: totals.fee, net: totals.net, carriedIn: 0n, ...amounts }, lines);
        const rows = csv.split('\r\n').filter((r) => r !== '');
        expect(rows[0]).toBe('type,id,payment_id,created_at,currency,gross,fee,net');
        expect(rows.length).toBe(1 + lines.length + 4);
        const net = rows.slice(1, 1 + lines.length).reduce((t, r) => t + BigInt(r.split(',')[7]!), 0n);
        expect(net).toBe(totals.net);
        expect(rows[1 + lines.length]).toBe(`total,stl_x,,,USD,${totals.gross},${totals.fee},${totals.net}`);
      }),
    );
  });
});
