import { describe, expect, it } from 'vitest';
import { parseProcStat, type CpuUsage } from './cpu-usage.ts';
import { costLine } from './report.ts';

const procStat = [
  'cpu  100 5 50 800 10 3 2 0 0 0',
  'cpu0 50 2 25 400 5 1 1 0 0 0',
  'intr 12345 0 0',
  'ctxt 987654',
  'btime 1764200000',
].join('\n');

const usage = (over: Partial<CpuUsage> = {}): CpuUsage => ({
  elapsed_seconds: 15, cores: 2, machine_busy_cores: 1.5, clearway_cores: 0.8, clearway_main_thread_cores: 0.65, postgres_cores: 0.6,
  generator_cores: 0.1, other_cores: 0, context_switches_per_second: 5_000, ...over,
});

describe('what the machine spent', () => {
  it('reads busy and total ticks and the context switches from /proc/stat', () => {
    expect(parseProcStat(procStat)).toEqual({ busy: 100 + 5 + 50 + 3 + 2 + 0, total: 100 + 5 + 50 + 800 + 10 + 3 + 2 + 0, context_switches: 987654 });
    expect(parseProcStat('cpu  1 2 3 4 5 6 7 8')).toEqual({ busy: 1 + 2 + 3 + 6 + 7 + 8, total: 36, context_switches: null });
    expect(parseProcStat('nothing here')).toBeNull();
  });

  it('states the CPU and the context switches per purchase', () => {
    expect(costLine(usage(), 750, 'purchase')).toBe('  per purchase          2.00 ms of CPU (clearway 1.07, postgres 0.80), 6.7 context switches');
  });

  it('leaves out what was not measured, and says n/a without a rate or a meter', () => {
    expect(costLine(usage({ clearway_cores: null, context_switches_per_second: null }), 5_000, 'transaction')).toBe('  per transaction       0.30 ms of CPU (postgres 0.12)');
    expect(costLine(usage(), 0, 'purchase')).toBe('  per purchase          n/a');
    expect(costLine(null, 750, 'purchase')).toBe('  per purchase          n/a');
    expect(costLine(usage({ machine_busy_cores: null }), 750, 'purchase')).toBe('  per purchase          n/a');
  });
});
