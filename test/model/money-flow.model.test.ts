// The property/model test of issue 4, item 7, on the PostgreSQL server: fast-check generates
// random runs of card and wallet payments, partial and full refunds, pricing changes, settlement
// runs of closed days, payouts, bank faults and refusing or bouncing bank accounts, for several
// merchants and currencies, and runs them concurrently (every merchant's operations at once,
// beside the platform's settlement runs and two payout worker loops) through the real HTTP API
// with a manual clock moved on by whole hours between phases. An independent model (model.ts)
// says from the operations and their answers what every balance, settlement batch and sandbox or
// bank book must be; afterwards the ledger, GET /v1/balance, the ledger check and the sandboxes'
// and banks' own books are compared with it exactly. A difference fails the run, and fast-check
// shrinks the scenario and prints it.
//
// Deterministic in what it generates: the seed is fixed (MODEL_SEED overrides it) and printed.
// What the banks' faults draw and how the concurrent operations interleave is not, which is the
// point: the model reads outcomes from the answers, never from the interleaving.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { scenarioArb } from './scenario.ts';
import { newStats, runScenario } from './runner.ts';

const seed = Number(process.env.MODEL_SEED ?? 20_260_302);
const numRuns = Number(process.env.MODEL_RUNS ?? 10);
/** The runs and, on a failure, its shrinking (each try a whole run on a fresh database) stop after this long. */
const timeLimitMs = Number(process.env.MODEL_TIME_LIMIT_MS ?? 300_000);

const serverUrl = process.env.TEST_DATABASE_URL;

describe('money flow against an independent model, on postgres', () => {
  if (serverUrl === undefined) {
    it.skip('needs the PostgreSQL server of `npm test` (TEST_DATABASE_URL): the runs are concurrent, and PGlite has one connection', () => {});
    return;
  }
  it(`keeps the ledger equal to the model over random concurrent runs (seed ${seed}, ${numRuns} runs)`, async () => {
    const stats = newStats();
    const started = performance.now();
    await fc.assert(fc.asyncProperty(scenarioArb, (scenario) => runScenario(scenario, stats)), { seed, numRuns, verbose: 0, interruptAfterTimeLimit: timeLimitMs, markInterruptAsFailure: true });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const sorted = (map: Map<string, number>) => Object.fromEntries([...map].sort(([a], [b]) => (a < b ? -1 : 1)));
    const operations = [...stats.ops].filter(([name]) => !name.startsWith('settle:') && !name.startsWith('payout_final:') && !name.startsWith('bank_faults:')).reduce((n, [, c]) => n + c, 0);
    console.log(`money-flow model: seed ${seed}, ${stats.sequences} sequences in ${seconds} s, ${operations} merchant operations, ${stats.workerRounds} payout worker rounds`);
    console.log(`money-flow model: operations by kind and outcome ${JSON.stringify(sorted(stats.ops))}`);
    console.log(`money-flow model: entries posted by kind ${JSON.stringify(sorted(stats.entries))} (${[...stats.entries.values()].reduce((a, b) => a + b, 0)} in all)`);
    expect(stats.sequences).toBe(numRuns);
  }, 600_000);
});
