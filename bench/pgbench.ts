// pgbench's TPC-B-like workload on the benchmark's own PostgreSQL server: the yardstick that
// Clearway's payments/s is divided by. pgbench is a client, so it runs directly (also as root)
// and connects over TCP.

import path from 'node:path';
import { connectionArgs, runClient } from './run-client.ts';

/** Each scale gets a database of its own, so that several can be measured on one server. */
function pgbenchDatabase(scale: number): string {
  return `pgbench_scale_${scale}`;
}

export interface PgbenchOptions {
  readonly bindir: string;
  readonly port: number;
  readonly duration_seconds: number;
  /** Called just before and just after the timed TPC-B run (not around initialisation). */
  readonly onRunStart?: () => void;
  readonly onRunEnd?: () => void;
  readonly scale: number;
  readonly clients: number;
  readonly threads: number;
}

export interface PgbenchResult {
  readonly tps: number;
  readonly scale: number;
  readonly clients: number;
  readonly threads: number;
  readonly duration_seconds: number;
  readonly latency_average_ms: number | null;
  readonly transactions: number | null;
  readonly failed_transactions: number | null;
  readonly command: string;
}

function numberAfter(text: string, pattern: RegExp): number | null {
  const match = pattern.exec(text);
  return match?.[1] === undefined ? null : Number(match[1]);
}

/** Parses pgbench's summary; the TPS is the figure "without initial connection time". */
export function parsePgbenchOutput(output: string): { tps: number; latency_average_ms: number | null; transactions: number | null; failed_transactions: number | null } {
  const tps = numberAfter(output, /tps = ([0-9.]+) \(without initial connection time\)/);
  if (tps === null || !Number.isFinite(tps)) throw new Error(`pgbench printed no "tps = ... (without initial connection time)" line:\n${output}`);
  return {
    tps,
    latency_average_ms: numberAfter(output, /latency average = ([0-9.]+) ms/),
    transactions: numberAfter(output, /number of transactions actually processed: ([0-9]+)/),
    failed_transactions: numberAfter(output, /number of failed transactions: ([0-9]+)/),
  };
}

export async function runPgbench(options: PgbenchOptions): Promise<PgbenchResult> {
  const pgbench = path.join(options.bindir, 'pgbench');
  const connection = connectionArgs(options.port);
  const database = pgbenchDatabase(options.scale);
  await runClient(path.join(options.bindir, 'createdb'), [...connection, database]);
  await runClient(pgbench, [...connection, '-i', '-s', String(options.scale), '-q', database]);
  const runArgs = [...connection, '-c', String(options.clients), '-j', String(options.threads), '-T', String(options.duration_seconds), '-M', 'prepared', database];
  options.onRunStart?.();
  const { stdout, stderr } = await runClient(pgbench, runArgs);
  options.onRunEnd?.();
  const parsed = parsePgbenchOutput(stdout + '\n' + stderr);
  return {
    ...parsed,
    scale: options.scale,
    clients: options.clients,
    threads: options.threads,
    duration_seconds: options.duration_seconds,
    command: `pgbench ${runArgs.join(' ')}`,
  };
}
