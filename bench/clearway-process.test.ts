import { describe, expect, it } from 'vitest';
import { serve_node_flags, serverNodeFlags } from './clearway-process.ts';

describe('the benchmark server’s Node flags', () => {
  it('are the fixed flags when CLEARWAY_BENCH_NODE_FLAGS is unset or blank', () => {
    expect(serverNodeFlags({})).toEqual([...serve_node_flags]);
    expect(serverNodeFlags({ CLEARWAY_BENCH_NODE_FLAGS: '   ' })).toEqual([...serve_node_flags]);
  });

  it('append the words of CLEARWAY_BENCH_NODE_FLAGS after the fixed ones, so a profiler can be added and a fixed flag overridden', () => {
    expect(serverNodeFlags({ CLEARWAY_BENCH_NODE_FLAGS: ' --cpu-prof  --max-semi-space-size=16 ' })).toEqual([
      ...serve_node_flags,
      '--cpu-prof',
      '--max-semi-space-size=16',
    ]);
  });

  it('give the young generation 64 MB semi-spaces, as npm start does', async () => {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    expect(serve_node_flags).toContain('--max-semi-space-size=64');
    for (const flag of serve_node_flags) expect(pkg.scripts['start']).toContain(flag);
  });
});
