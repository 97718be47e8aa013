import { describe, expect, it } from 'vitest';
import type { OpenLoopResult } from './open-loop.ts';
import type { PhaseResult } from './phase-stats.ts';
import { targets, verdicts } from './report.ts';

const closed = { payments_per_second: 900, errors: 0 } as PhaseResult;
const open = { latency: { p99_ms: 50 }, offered_rate_per_second: 450, shed: 0, errors: 0 } as OpenLoopResult;

describe('verdicts', () => {
  it('judge the ratio to pgbench at scale 1, the yardstick the issue\'s figures were taken from', () => {
    const ratio = verdicts(closed, open, 900 / 2800).find((v) => v.name === 'ratio to pgbench');
    expect(ratio).toEqual({ name: 'ratio to pgbench', target: `>= ${targets.pgbench_ratio_min} (pgbench at scale 1)`, measured: '0.321', met: true });
    expect(verdicts(closed, open, 900 / 6000).find((v) => v.name === 'ratio to pgbench')?.met).toBe(false);
  });

  it('leave the ratio unjudged when pgbench did not run', () => {
    expect(verdicts(closed, open, null).find((v) => v.name === 'ratio to pgbench')).toMatchObject({ measured: 'not measured', met: null });
  });
});
