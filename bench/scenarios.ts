// `clearway bench [scenario] [flags]`: which benchmark runs. No scenario (or flags only) is the
// payment benchmark, as `npm run bench` always was. Each scenario starts and stops its own
// throwaway servers; `all` runs them one after another with their defaults.

import { runLedgerBenchmark } from './ledger.ts';
import { runPaymentBenchmark } from './payments.ts';
import { parseSettlementBenchOptions, runSettlementBenchmark, settlementBenchUsage, settlement_default_shapes } from './settlement.ts';
import { parseStreamBenchOptions, runStreamBenchmark, streamBenchUsage } from './stream.ts';

export const benchScenarios = ['payments', 'ledger', 'settlement', 'stream', 'all'] as const;
export type BenchScenario = (typeof benchScenarios)[number];

export const benchScenariosUsage = `usage: clearway bench [payments|ledger|settlement|stream|all] [flags]   (npm run bench -- <scenario> [flags])

  (none), payments   the payment benchmark: Clearway serving card and wallet purchases, and pgbench TPC-B
  ledger             ledger postings/s, one entry and 1,000 entries per transaction, spread and on one
                     hot merchant, against pgbench running one five-statement posting per transaction
  settlement         settling a day of 1,000,000 captures, for 1 merchant and for 100 merchants
  stream             the finance stream's publish and consume rates, embedded and on NATS JetStream
                     (NATS when nats-server is installed)
  all                all four, one after another, with their defaults (no flags)

  clearway bench <scenario> --help   lists the scenario's flags; docs/benchmarks.md says what each measures`;

function isScenario(value: string | undefined): value is BenchScenario {
  return value !== undefined && (benchScenarios as readonly string[]).includes(value);
}

const heading = (title: string): void => {
  process.stdout.write(`\n=== clearway bench ${title} ===\n`);
};

async function runSettlement(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(settlementBenchUsage + '\n');
    return;
  }
  const options = parseSettlementBenchOptions(argv);
  const shapes = argv.includes('--merchants') ? [options.merchants] : settlement_default_shapes;
  for (const merchants of shapes) await runSettlementBenchmark({ ...options, merchants });
}

async function runStream(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(streamBenchUsage + '\n');
    return;
  }
  await runStreamBenchmark(parseStreamBenchOptions(argv));
}

export async function runBench(argv: string[]): Promise<void> {
  const first = argv[0];
  if (first === 'help') {
    process.stdout.write(benchScenariosUsage + '\n');
    return;
  }
  if (!isScenario(first)) {
    if (first !== undefined && !first.startsWith('-')) throw new Error(`unknown benchmark ${JSON.stringify(first)}\n${benchScenariosUsage}`);
    if (argv.includes('--help') || argv.includes('-h')) process.stdout.write(benchScenariosUsage + '\n\n');
    return runPaymentBenchmark(argv);
  }
  const rest = argv.slice(1);
  switch (first) {
    case 'payments':
      return runPaymentBenchmark(rest);
    case 'ledger':
      await runLedgerBenchmark(rest);
      return;
    case 'settlement':
      return runSettlement(rest);
    case 'stream':
      return runStream(rest);
    case 'all':
      if (rest.length > 0) throw new Error('clearway bench all takes no flags: run a scenario alone to change its settings');
      heading('payments');
      await runPaymentBenchmark([]);
      heading('ledger');
      await runLedgerBenchmark([]);
      heading('settlement');
      await runSettlement([]);
      heading('stream');
      await runStream([]);
      return;
    default: {
      const unknown: never = first;
      throw new Error(`assertion failed: unknown scenario ${String(unknown)}`);
    }
  }
}
