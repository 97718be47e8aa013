// The flags of the ledger and stream scenarios, and the pgbench script's shape. (The scenarios
// themselves start servers and print numbers: they are run, not tested.)
import { describe, expect, it } from 'vitest';
import { parseLedgerBenchOptions, pgbenchPostingScript } from './ledger.ts';
import { parseStreamBenchOptions } from './stream.ts';
import { parseSettlementBenchOptions } from './settlement.ts';
import { parseBenchOptions } from './options.ts';
import { formatStatements } from './pg-statements.ts';

describe('clearway bench scenario flags', () => {
  it('ledger: defaults, values, and refusals', () => {
    expect(parseLedgerBenchOptions([])).toMatchObject({ single_entries: 10_000, batched_entries: 100_000, clients: 16, batchers: 4, batch: 1_000, merchants: 1_000, skip_pgbench: false });
    expect(parseLedgerBenchOptions(['--batch', '500', '--batchers', '2', '--skip-pgbench'])).toMatchObject({ batch: 500, batchers: 2, skip_pgbench: true });
    expect(() => parseLedgerBenchOptions(['--batch', '1001'])).toThrow(/--batch/);
    expect(() => parseLedgerBenchOptions(['--entries', '5'])).toThrow();
  });

  it('stream and settlement: flags as options', () => {
    expect(parseStreamBenchOptions(['--events', '500', '--no-nats'])).toEqual({ events: 500, nats: false });
    expect(parseStreamBenchOptions([])).toEqual({});
    expect(parseSettlementBenchOptions(['--merchants', '100', '--check'])).toMatchObject({ transactions: 1_000_000, merchants: 100, check: true });
  });

  it('payments: --open-rate fixes the open loop\'s rate (default: half the closed-loop rate)', () => {
    expect(parseBenchOptions([]).open_rate_per_second).toBeNull();
    expect(parseBenchOptions(['--open-rate', '380']).open_rate_per_second).toBe(380);
    expect(() => parseBenchOptions(['--open-rate', '0'])).toThrow(/--open-rate/);
    expect(() => parseBenchOptions(['--open-rate', '2.5'])).toThrow(/--open-rate/);
  });

  it('payments: --statements loads pg_stat_statements, and its report divides by the purchases', () => {
    expect(parseBenchOptions([]).statements).toBe(false);
    expect(parseBenchOptions(['--statements', '--duration', '5'])).toMatchObject({ statements: true, duration_seconds: 5 });
    const report = formatStatements([{ calls: 200, total_ms: 50, plan_ms: 2, text: 'INSERT INTO orders' }], 100);
    expect(report).toContain('per purchase of 100');
    expect(report).toMatch(/2\.00\s+0\.500 ms \(0\.020\)\s+INSERT INTO orders/);
  });

  it('pgbench: one posting per transaction in three statements (the entry with its postings, two balance updates), no colon inside a string literal', () => {
    const statements = pgbenchPostingScript.split('\n').filter((line) => line !== '' && !line.startsWith('\\'));
    expect(statements[0]).toBe('BEGIN;');
    expect(statements.at(-1)).toBe('END;');
    expect(statements.slice(1, -1).map((s) => s.split(' ').slice(0, 3).join(' '))).toEqual([
      'WITH e AS', 'UPDATE ledger_accounts SET', 'UPDATE ledger_accounts SET',
    ]);
    for (const literal of pgbenchPostingScript.match(/'[^']*'/g) ?? []) expect(literal).not.toContain(':');
  });
});
