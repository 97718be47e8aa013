// Flags of `clearway bench`, validated and frozen.

import { parseArgs } from 'node:util';
import { dirty_background_bytes_default } from './kernel-writeback.ts';

export interface BenchOptions {
  readonly duration_seconds: number;
  readonly warmup_seconds: number;
  readonly concurrency: number;
  readonly pgbench_duration_seconds: number;
  readonly skip_pgbench: boolean;
  /** Skip the wallet scenario and the routing timing. */
  readonly skip_wallet: boolean;
  /** Purchases in flight at most during the open-loop phase. */
  readonly open_loop_outstanding_max: number;
  /** The open loop's offered rate, purchases/s; null: half the closed-loop rate (the latency target's rate). */
  readonly open_rate_per_second: number | null;
  /** Load pg_stat_statements and print the costliest statements per purchase. */
  readonly statements: boolean;
  /** Background writeback threshold set on the kernel for the run (root only); 0 leaves the kernel alone. */
  readonly dirty_background_bytes: number;
  readonly help: boolean;
}

export const benchUsage = `usage: clearway bench [--duration S] [--concurrency C] [--warmup S] [--pgbench-duration S] [--skip-pgbench] [--outstanding-max N] [--open-rate R]

  --duration S           seconds measured in each load phase (default 20)
  --concurrency C        virtual customers in the closed-loop phase (default 32)
  --warmup S             seconds of load before each phase's window, not counted (default 3)
  --pgbench-duration S   seconds of each pgbench TPC-B run on the same server, scale 1 then scale 10 (default 15)
  --skip-pgbench         do not run pgbench (no ratio)
  --skip-wallet          do not run the wallet scenario (QR payment to notification) nor time routing
  --outstanding-max N    purchases in flight at most in the open-loop phase (default 256)
  --open-rate R          purchases/s offered in the open-loop phase (default: half the closed-loop rate, where the
                         latency target is judged; a fixed rate compares two trees at the same load)
  --statements           load pg_stat_statements and list the costliest statements per purchase
  --dirty-background-bytes B
                         as root, set the kernel's vm.dirty_background_bytes to B for the run and put the previous
                         value back after it (default 4194304: PostgreSQL's new pages are written back continuously
                         instead of in 30-second bursts that stall commits); 0 leaves the kernel alone`;

function integerFlag(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`);
  return value;
}

export function parseBenchOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      concurrency: { type: 'string' },
      'pgbench-duration': { type: 'string' },
      'skip-pgbench': { type: 'boolean' },
      'skip-wallet': { type: 'boolean' },
      'outstanding-max': { type: 'string' },
      'open-rate': { type: 'string' },
      statements: { type: 'boolean' },
      'dirty-background-bytes': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  return Object.freeze({
    duration_seconds: integerFlag('duration', values.duration, 20, 1, 3600),
    warmup_seconds: integerFlag('warmup', values.warmup, 3, 0, 600),
    concurrency: integerFlag('concurrency', values.concurrency, 32, 1, 1024),
    pgbench_duration_seconds: integerFlag('pgbench-duration', values['pgbench-duration'], 15, 1, 3600),
    skip_pgbench: values['skip-pgbench'] ?? false,
    skip_wallet: values['skip-wallet'] ?? false,
    open_loop_outstanding_max: integerFlag('outstanding-max', values['outstanding-max'], 256, 1, 4096),
    open_rate_per_second: values['open-rate'] === undefined ? null : integerFlag('open-rate', values['open-rate'], 0, 1, 100_000),
    statements: values.statements ?? false,
    dirty_background_bytes: integerFlag('dirty-background-bytes', values['dirty-background-bytes'], dirty_background_bytes_default, 0, 2 ** 40),
    help: values.help ?? false,
  });
}
