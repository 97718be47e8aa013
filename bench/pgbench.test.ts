import { describe, expect, it } from 'vitest';
import { parsePgbenchOutput } from './pgbench.ts';

// The summary pgbench 15 prints after `-c 16 -j 2 -T 15 -M prepared`.
const pgbench15Output = `pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: <builtin: TPC-B (sort of)>
scaling factor: 10
query mode: prepared
number of clients: 16
number of threads: 2
maximum number of tries: 1
duration: 15 s
number of transactions actually processed: 68543
number of failed transactions: 0 (0.000%)
latency average = 3.500 ms
initial connection time = 12.345 ms
tps = 4571.201234 (without initial connection time)
`;

describe('parsePgbenchOutput', () => {
  it('reads the TPS without initial connection time and the other totals', () => {
    expect(parsePgbenchOutput(pgbench15Output)).toEqual({ tps: 4571.201234, latency_average_ms: 3.5, transactions: 68543, failed_transactions: 0 });
  });

  it('refuses output without the TPS line', () => {
    expect(() => parsePgbenchOutput('pgbench: error: connection to server failed')).toThrow(/tps/);
  });
});
