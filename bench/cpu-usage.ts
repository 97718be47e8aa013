// Where the machine's CPU went during a load phase: the whole machine (/proc/stat), the
// Clearway server process and this load generator; the rest is PostgreSQL, the kernel and
// anything else. Linux only; elsewhere the figures are null.

import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

/** Kernel clock ticks per second for /proc times (USER_HZ, 100 on Linux). */
const clock_ticks_per_second = 100;

export interface CpuUsage {
  readonly elapsed_seconds: number;
  readonly cores: number;
  /** Average cores busy, each in 0..cores. */
  readonly machine_busy_cores: number | null;
  readonly clearway_cores: number | null;
  readonly generator_cores: number;
}

function machineTicks(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    return { busy: user + nice + system + irq + softirq + steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
  } catch {
    return null;
  }
}

function processTicks(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name "(...)": state is field 3, utime 14 and stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/** Starts measuring; the returned function ends the measurement. */
export function startCpuMeter(serverPid: number | undefined): () => CpuUsage {
  const startedAt = performance.now();
  const machine = machineTicks();
  const server = processTicks(serverPid);
  const generator = process.cpuUsage();
  return () => {
    const elapsed_seconds = (performance.now() - startedAt) / 1000;
    const machineAfter = machineTicks();
    const serverAfter = processTicks(serverPid);
    const generatorUsed = process.cpuUsage(generator);
    const cores = os.cpus().length;
    const machineShare = machine && machineAfter && machineAfter.total > machine.total ? (machineAfter.busy - machine.busy) / (machineAfter.total - machine.total) : null;
    return {
      elapsed_seconds,
      cores,
      machine_busy_cores: machineShare === null ? null : machineShare * cores,
      clearway_cores: server === null || serverAfter === null ? null : (serverAfter - server) / clock_ticks_per_second / elapsed_seconds,
      generator_cores: (generatorUsed.user + generatorUsed.system) / 1e6 / elapsed_seconds,
    };
  };
}
