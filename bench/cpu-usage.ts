// Where the machine's CPU went during a load phase: the whole machine (/proc/stat), the
// Clearway server process, the PostgreSQL server (postmaster and its backends) and this load
// generator; the rest is the kernel and any other process on the machine. Linux only;
// elsewhere the /proc figures are null.

import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

/** Kernel clock ticks per second for /proc times (USER_HZ, 100 on Linux). */
const clock_ticks_per_second = 100;

export interface CpuUsage {
  readonly elapsed_seconds: number;
  readonly cores: number;
  /** Average cores busy, each in 0..cores. */
  readonly machine_busy_cores: number | null;
  /** Null when not metered (no Clearway process in this phase) or unreadable. */
  readonly clearway_cores: number | null;
  /** The server's main (event loop) thread alone: near 1.0 means the event loop is the bottleneck. */
  readonly clearway_main_thread_cores: number | null;
  readonly postgres_cores: number | null;
  readonly generator_cores: number;
  /** Busy, less everything above: the kernel's own work and processes that are not ours. */
  readonly other_cores: number | null;
  /** The whole machine's context switches per second (each wake-up of a process or thread costs CPU). */
  readonly context_switches_per_second: number | null;
}

export interface MeteredProcesses {
  readonly clearwayPid: number | undefined;
  readonly postmasterPid: number | undefined;
}

/** The machine's busy and total CPU ticks, and its context switches since boot, from /proc/stat text. */
export function parseProcStat(text: string): { busy: number; total: number; context_switches: number | null } | null {
  const lines = text.split('\n');
  const cpu = lines.find((line) => line.startsWith('cpu '));
  if (cpu === undefined) return null;
  const fields = cpu.trim().split(/\s+/).slice(1, 9).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  const ctxt = lines.find((line) => line.startsWith('ctxt '));
  const switches = ctxt === undefined ? null : Number(ctxt.split(/\s+/)[1]);
  return {
    busy: user + nice + system + irq + softirq + steal,
    total: user + nice + system + idle + iowait + irq + softirq + steal,
    context_switches: switches !== null && Number.isFinite(switches) ? switches : null,
  };
}

function machineTicks(): { busy: number; total: number; context_switches: number | null } | null {
  try {
    return parseProcStat(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return null;
  }
}

interface ProcessStat {
  readonly ppid: number;
  /** utime + stime of the process itself. */
  readonly own: number;
  /** cutime + cstime: children that exited and were waited for. */
  readonly children: number;
}

function processStat(pid: number | string, file = `/proc/${pid}/stat`): ProcessStat | null {
  try {
    const stat = readFileSync(file, 'utf8');
    // After "pid (comm) ": state, ppid, ... utime is field 14, stime 15, cutime 16, cstime 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return { ppid: fields[1] ?? -1, own: (fields[11] ?? 0) + (fields[12] ?? 0), children: (fields[13] ?? 0) + (fields[14] ?? 0) };
  } catch {
    return null;
  }
}

/** A process and its direct children (live ones, plus those it has already reaped). */
function treeTicks(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  const root = processStat(pid);
  if (!root) return null;
  let ticks = root.own + root.children;
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const child = processStat(entry);
    if (child?.ppid === pid) ticks += child.own;
  }
  return ticks;
}

/** A process's main thread (its thread id is the process id). */
function mainThreadTicks(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  return processStat(pid, `/proc/${pid}/task/${pid}/stat`)?.own ?? null;
}

const perSecond = (before: number | null, after: number | null, seconds: number): number | null =>
  before === null || after === null ? null : (after - before) / clock_ticks_per_second / seconds;

/** Starts measuring; the returned function ends the measurement. */
export function startCpuMeter(processes: MeteredProcesses): () => CpuUsage {
  const startedAt = performance.now();
  const machine = machineTicks();
  const clearway = treeTicks(processes.clearwayPid);
  const clearwayMain = mainThreadTicks(processes.clearwayPid);
  const postgres = treeTicks(processes.postmasterPid);
  const generator = process.cpuUsage();
  return () => {
    const elapsed_seconds = (performance.now() - startedAt) / 1000;
    const machineAfter = machineTicks();
    const generatorUsed = process.cpuUsage(generator);
    const cores = os.cpus().length;
    const machineShare = machine && machineAfter && machineAfter.total > machine.total ? (machineAfter.busy - machine.busy) / (machineAfter.total - machine.total) : null;
    const machine_busy_cores = machineShare === null ? null : machineShare * cores;
    const clearway_cores = perSecond(clearway, treeTicks(processes.clearwayPid), elapsed_seconds);
    const clearway_main_thread_cores = perSecond(clearwayMain, mainThreadTicks(processes.clearwayPid), elapsed_seconds);
    const postgres_cores = perSecond(postgres, treeTicks(processes.postmasterPid), elapsed_seconds);
    const generator_cores = (generatorUsed.user + generatorUsed.system) / 1e6 / elapsed_seconds;
    const clearwayUnknown = processes.clearwayPid !== undefined && clearway_cores === null;
    const other_cores =
      machine_busy_cores === null || postgres_cores === null || clearwayUnknown ? null : machine_busy_cores - (clearway_cores ?? 0) - postgres_cores - generator_cores;
    const switchesBefore = machine?.context_switches ?? null;
    const switchesAfter = machineAfter?.context_switches ?? null;
    const context_switches_per_second = switchesBefore === null || switchesAfter === null || elapsed_seconds <= 0 ? null : (switchesAfter - switchesBefore) / elapsed_seconds;
    return { elapsed_seconds, cores, machine_busy_cores, clearway_cores, clearway_main_thread_cores, postgres_cores, generator_cores, other_cores, context_switches_per_second };
  };
}
