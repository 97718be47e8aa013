// The benchmark's result: targets, their verdicts and the printed report. Every figure comes
// from the run; only the targets are constants.

import type { WalletPhaseResult } from './wallet-phase.ts';
import type { CpuUsage } from './cpu-usage.ts';
import type { LatencySummary } from './latency.ts';
import { formatWriteback, type KernelWriteback } from './kernel-writeback.ts';
import type { MachineFacts } from './machine.ts';
import type { OpenLoopResult } from './open-loop.ts';
import type { PgStatsDelta } from './pg-stats.ts';
import type { PgbenchResult } from './pgbench.ts';
import type { PhaseResult } from './phase-stats.ts';

export const targets = Object.freeze({
  payments_per_second_min: 700,
  pgbench_ratio_min: 0.25,
  half_rate_p99_ms_max: 100,
  errors_max: 0,
});

/** Busy cores while Clearway idles above which the report warns that the figures are disturbed. */
export const idle_busy_cores_warning = 0.25;

export interface TargetVerdict {
  readonly name: string;
  readonly target: string;
  readonly measured: string;
  /** null when not measured (e.g. --skip-pgbench). */
  readonly met: boolean | null;
}

export interface BenchmarkResult {
  readonly started_at: string;
  readonly command: string;
  readonly settings: { duration_seconds: number; warmup_seconds: number; concurrency: number; pgbench_duration_seconds: number | null; open_loop_outstanding_max: number; open_rate_per_second?: number | null };
  readonly machine: MachineFacts;
  /** The Node flags `clearway serve` ran with. Absent in results recorded before it was (session 9). */
  readonly server_node_flags?: readonly string[];
  /** Absent in results recorded before it was (session 7). */
  readonly kernel_writeback?: KernelWriteback;
  readonly closed_loop: PhaseResult;
  readonly open_loop: OpenLoopResult;
  /** pgbench at scale 1: the target's yardstick (bench/payments.ts). Until session 11 this field held scale 10. */
  readonly pgbench: PgbenchResult | null;
  readonly ratio_to_pgbench: number | null;
  /** pgbench at scale 10, reported, not judged. Absent in results recorded before session 11. */
  readonly pgbench_uncontended?: PgbenchResult | null;
  readonly ratio_to_pgbench_uncontended?: number | null;
  /** CPU over each phase's measured window. */
  readonly cpu: { readonly idle_before_load: CpuUsage; readonly closed_loop: CpuUsage | null; readonly open_loop: CpuUsage | null; readonly pgbench: CpuUsage | null; readonly pgbench_uncontended?: CpuUsage | null };
  /** What the database did for both load phases (workers included), per purchase (order + payment). */
  readonly database: PgStatsDelta & { readonly purchases: number; readonly commits_per_purchase: number | null; readonly wal_syncs_per_purchase: number | null };
  readonly targets: typeof targets;
  readonly verdicts: readonly TargetVerdict[];
  /** The wallet scenario (QR payment, sandbox completion, notification to succeeded), after the card phases. */
  readonly wallet?: WalletPhaseResult | null;
  /** The routing decision alone (planChannels), timed in the benchmark process. */
  readonly routing_decision?: LatencySummary | null;
}

/** The wallet and routing section of the report (issue 3's wallet scenario). */
export function formatWalletReport(wallet: WalletPhaseResult | null | undefined, routing: LatencySummary | null | undefined): string {
  const lines: string[] = [];
  if (wallet) {
    const p = wallet.purchase_latency;
    const n = wallet.notification_to_paid_latency;
    lines.push(
      `wallet: ${wallet.concurrency} customers, ${wallet.duration_seconds} s, CNY orders paid by QR code (Alipay and WeChat Pay in turn): payment, sandbox payer, signed notification, succeeded`,
      `  succeeded payments/s  ${fixed(wallet.payments_per_second)}   (${wallet.succeeded})   errors ${wallet.errors}${wallet.error_samples.length ? `: ${wallet.error_samples.join('; ')}` : ''}`,
      `  purchase latency      p50 ${fixed(p.p50_ms, 2)} ms   p99 ${fixed(p.p99_ms, 2)} ms`,
      `  notification to paid  p50 ${fixed(n.p50_ms, 2)} ms   p99 ${fixed(n.p99_ms, 2)} ms   (payer done -> first read showing succeeded; polled every 2 ms)`,
    );
  }
  if (routing) {
    lines.push(`routing decision (planChannels, ${routing.count} timed calls): p50 ${fixed(routing.p50_ms === null ? null : routing.p50_ms * 1000, 1)} µs   p99 ${fixed(routing.p99_ms === null ? null : routing.p99_ms * 1000, 1)} µs   (target under 1 ms: ${routing.p99_ms !== null && routing.p99_ms < 1 ? 'met' : 'MISSED'})`);
  }
  return lines.length ? `\n${lines.join('\n')}\n` : '';
}

function fixed(value: number | null, digits = 1): string {
  if (value === null) return 'n/a';
  const text = value.toFixed(digits);
  return Number(text) === 0 ? text.replace('-', '') : text;
}

/** `fixedOpenRate`: the open loop ran at --open-rate, not at half the closed-loop rate, so the latency target is not judged. */
export function verdicts(closed: PhaseResult, open: OpenLoopResult, ratio: number | null, fixedOpenRate = false): TargetVerdict[] {
  const errors = closed.errors + open.errors;
  const p99 = open.latency.p99_ms;
  return [
    { name: 'throughput', target: `>= ${targets.payments_per_second_min} succeeded payments/s`, measured: `${fixed(closed.payments_per_second)}/s`, met: closed.payments_per_second >= targets.payments_per_second_min },
    { name: 'ratio to pgbench', target: `>= ${targets.pgbench_ratio_min} (pgbench at scale 1)`, measured: ratio === null ? 'not measured' : fixed(ratio, 3), met: ratio === null ? null : ratio >= targets.pgbench_ratio_min },
    {
      name: 'p99 at half rate',
      target: `< ${targets.half_rate_p99_ms_max} ms (none shed)`,
      measured: `${fixed(p99)} ms at ${fixed(open.offered_rate_per_second)}/s offered${fixedOpenRate ? ' (--open-rate, not half the closed-loop rate)' : ''}, ${open.shed} shed`,
      met: fixedOpenRate ? null : p99 !== null && p99 < targets.half_rate_p99_ms_max && open.shed === 0,
    },
    { name: 'errors', target: `${targets.errors_max}`, measured: `${errors} (closed ${closed.errors}, open ${open.errors})`, met: errors <= targets.errors_max },
  ];
}

function latencyLine(latency: LatencySummary): string {
  return `p50 ${fixed(latency.p50_ms, 2)} ms   p95 ${fixed(latency.p95_ms, 2)} ms   p99 ${fixed(latency.p99_ms, 2)} ms   max ${fixed(latency.max_ms, 2)} ms   mean ${fixed(latency.mean_ms, 2)} ms`;
}

function phaseLines(result: PhaseResult): string[] {
  const lines = [
    `  succeeded payments/s  ${fixed(result.payments_per_second)}   (${result.succeeded} in ${result.duration_seconds} s)`,
    `  latency               ${latencyLine(result.latency)}`,
    `  errors                ${result.errors}`,
  ];
  for (const [kind, count] of Object.entries(result.errors_by_kind)) lines.push(`    ${count} x ${kind}`);
  for (const sample of result.error_samples) lines.push(`    e.g. ${sample.request}\n         -> ${sample.status} ${sample.body}`);
  return lines;
}

function cpuLine(cpu: CpuUsage | null): string {
  if (!cpu) return '  cpu                   n/a';
  const parts = [
    cpu.clearway_cores === null ? null : `clearway ${fixed(cpu.clearway_cores, 2)} (event-loop thread ${fixed(cpu.clearway_main_thread_cores, 2)})`,
    `postgres ${fixed(cpu.postgres_cores, 2)}`,
    cpu.clearway_cores === null ? null : `load generator ${fixed(cpu.generator_cores, 2)}`,
    cpu.clearway_cores === null ? `pgbench, kernel and other processes ${fixed(cpu.other_cores, 2)}` : `kernel and other processes ${fixed(cpu.other_cores, 2)}`,
  ];
  return `  cpu (cores of ${cpu.cores})      busy ${fixed(cpu.machine_busy_cores, 2)} = ${parts.filter(Boolean).join(' + ')}`;
}

/**
 * What one unit of work (a purchase, a pgbench transaction) cost the machine: CPU in ms, split
 * between Clearway and PostgreSQL, and context switches. At low load each request and reply
 * wakes a process of its own, so a unit costs more than under full load (docs/benchmarks.md).
 */
export function costLine(cpu: CpuUsage | null, unitsPerSecond: number, unit: string): string {
  const label = `  per ${unit}`.padEnd(24);
  if (!cpu || cpu.machine_busy_cores === null || !(unitsPerSecond > 0)) return `${label}n/a`;
  const ms = (cores: number | null): string => fixed(cores === null ? null : (cores / unitsPerSecond) * 1000, 2);
  const split = [cpu.clearway_cores === null ? null : `clearway ${ms(cpu.clearway_cores)}`, `postgres ${ms(cpu.postgres_cores)}`].filter(Boolean).join(', ');
  const switches = cpu.context_switches_per_second === null ? '' : `, ${fixed(cpu.context_switches_per_second / unitsPerSecond, 1)} context switches`;
  return `${label}${ms(cpu.machine_busy_cores)} ms of CPU (${split})${switches}`;
}

const verdictWord = (met: boolean | null): string => (met === null ? 'NOT MEASURED' : met ? 'met' : 'MISSED');

/** Where the open loop's slow purchases were: a few stalls, or spread over the run. */
function slowLine(open: OpenLoopResult): string {
  const { slow } = open;
  if (slow.slow === 0) return `  over ${slow.threshold_ms} ms: none`;
  const where = slow.slowest_slices.map((s) => `+${(s.at_ms / 1000).toFixed(2)} s (${s.slow} of ${s.purchases}, max ${fixed(s.max_ms, 0)} ms)`).join(', ');
  return `  over ${slow.threshold_ms} ms: ${slow.slow} purchases, in ${slow.slices_with_slow} of the ${slow.slice_ms} ms slices by scheduled start; most at ${where}`;
}

function pgbenchLines(pgbench: PgbenchResult | null, cpu: CpuUsage | null, role: string): string[] {
  if (!pgbench) return ['pgbench TPC-B: skipped (--skip-pgbench)'];
  return [
    `pgbench TPC-B, scale ${pgbench.scale} (${role}): ${fixed(pgbench.tps)} tps`,
    `  ${pgbench.clients} clients, ${pgbench.threads} threads, ${pgbench.duration_seconds} s, prepared; without initial connection time`,
    cpuLine(cpu),
    costLine(cpu, pgbench.tps, 'transaction'),
  ];
}

export function formatReport(result: BenchmarkResult): string {
  const { machine, closed_loop: closed, open_loop: open, pgbench } = result;
  const gib = (machine.memory_total_bytes / 1024 ** 3).toFixed(1);
  const lines = [
    '',
    `Clearway payment benchmark — ${result.started_at}`,
    `  ${result.command}`,
    `machine: ${machine.cpu_count} x ${machine.cpu_model}, ${gib} GiB RAM, ${machine.os}, Node ${machine.node_version}, PostgreSQL ${machine.postgresql_version}`,
    `  before the load, with Clearway idle: ${fixed(result.cpu.idle_before_load.machine_busy_cores, 2)} of ${machine.cpu_count} cores busy` +
      (result.cpu.idle_before_load.machine_busy_cores !== null && result.cpu.idle_before_load.machine_busy_cores > idle_busy_cores_warning ? ' — WARNING: other processes are using the machine; figures are low' : ''),
    formatWriteback(result.kernel_writeback, machine.memory_total_bytes),
    ...(result.server_node_flags ? [`  server: node ${[...result.server_node_flags, '--import tsx src/cli/main.ts serve'].join(' ')}`] : []),
    '',
    `closed loop: ${result.settings.concurrency} concurrent customers, ${result.settings.duration_seconds} s after ${result.settings.warmup_seconds} s warm-up (order + card payment each)`,
    ...phaseLines(closed),
    cpuLine(result.cpu.closed_loop),
    costLine(result.cpu.closed_loop, closed.payments_per_second, 'purchase'),
    '',
    `open loop: fixed arrival rate ${fixed(open.offered_rate_per_second)}/s (${result.settings.open_rate_per_second ? 'set by --open-rate' : 'half the closed-loop rate'}), ${open.duration_seconds} s, at most ${open.outstanding_max} in flight (peak ${open.outstanding_peak}); latency from scheduled start`,
    ...phaseLines(open),
    `  scheduled ${open.scheduled}, shed ${open.shed}`,
    slowLine(open),
    cpuLine(result.cpu.open_loop),
    costLine(result.cpu.open_loop, open.payments_per_second, 'purchase'),
    '',
    `database, both phases: ${result.database.purchases} purchases, ${result.database.xact_commit} commits (${fixed(result.database.commits_per_purchase, 2)} per purchase), ` +
      `${result.database.wal_sync} WAL syncs (${fixed(result.database.wal_syncs_per_purchase, 2)} per purchase), ${result.database.xact_rollback} rollbacks, ${(result.database.wal_bytes / 1024 ** 2).toFixed(1)} MiB WAL`,
    '',
    ...pgbenchLines(pgbench, result.cpu.pgbench, 'the target\'s yardstick: one branch row, as `pgbench -i` makes it'),
    ...(pgbench ? pgbenchLines(result.pgbench_uncontended ?? null, result.cpu.pgbench_uncontended ?? null, 'ten branch rows, none every transaction waits for: reported, not judged') : []),
    `ratio payments/s / pgbench tps: ${result.ratio_to_pgbench === null ? 'n/a' : `${fixed(result.ratio_to_pgbench, 3)} at scale 1`}` +
      (result.ratio_to_pgbench_uncontended == null ? '' : `, ${fixed(result.ratio_to_pgbench_uncontended, 3)} at scale 10`),
    '',
    'targets:',
    ...result.verdicts.map((v) => `  ${verdictWord(v.met).padEnd(12)} ${v.name.padEnd(18)} target ${v.target.padEnd(38)} measured ${v.measured}`),
    '',
  ];
  return lines.join('\n');
}
