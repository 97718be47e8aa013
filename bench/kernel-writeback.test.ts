// The benchmark's kernel writeback setting: what it reads, what it sets, and that it puts the
// previous values back. A temporary folder with /proc/sys/vm's three files stands in for it
// (the real one is the machine's, and needs root).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseBenchOptions } from './options.ts';
import { backgroundThresholdBytes, formatWriteback, readWriteback, tuneWriteback } from './kernel-writeback.ts';

const gib = 1024 ** 3;
const dirs: string[] = [];

function vmDir(values: { bytes: number; ratio: number; expire: number }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'clearway-vm-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'dirty_background_bytes'), `${values.bytes}\n`);
  writeFileSync(path.join(dir, 'dirty_background_ratio'), `${values.ratio}\n`);
  writeFileSync(path.join(dir, 'dirty_expire_centisecs'), `${values.expire}\n`);
  return dir;
}
const file = (dir: string, name: string): string => readFileSync(path.join(dir, name), 'utf8').trim();

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('kernel writeback during the benchmark', () => {
  it('sets the background threshold in bytes and puts the ratio back after the run', () => {
    const dir = vmDir({ bytes: 0, ratio: 10, expire: 3000 });
    const { writeback, restore } = tuneWriteback(4 * 1024 * 1024, dir);
    expect(writeback.before).toEqual({ dirty_background_bytes: 0, dirty_background_ratio: 10, dirty_expire_centisecs: 3000 });
    expect(writeback.during?.dirty_background_bytes).toBe(4 * 1024 * 1024);
    expect(writeback.action).toMatch(/set for this run/);
    restore();
    // The kernel clears the bytes setting when the ratio is written; the folder does not, so only
    // what was written is checked: the ratio, as it was.
    expect(file(dir, 'dirty_background_ratio')).toBe('10');
  });

  it('puts a previous bytes threshold back as bytes', () => {
    const dir = vmDir({ bytes: 64 * 1024 * 1024, ratio: 0, expire: 1500 });
    tuneWriteback(4 * 1024 * 1024, dir).restore();
    expect(file(dir, 'dirty_background_bytes')).toBe(String(64 * 1024 * 1024));
  });

  it('leaves the kernel alone for 0, when already set, and where there is nothing to read', () => {
    const dir = vmDir({ bytes: 0, ratio: 10, expire: 3000 });
    expect(tuneWriteback(0, dir).writeback.action).toMatch(/left as it is/);
    expect(file(dir, 'dirty_background_bytes')).toBe('0');
    const set = vmDir({ bytes: 4096, ratio: 0, expire: 3000 });
    expect(tuneWriteback(4096, set).writeback.action).toMatch(/already/);
    const missing = tuneWriteback(4096, path.join(tmpdir(), 'clearway-no-such-vm-dir'));
    expect(missing.writeback.before).toBeNull();
    expect(() => missing.restore()).not.toThrow();
    expect(readWriteback(path.join(tmpdir(), 'clearway-no-such-vm-dir'))).toBeNull();
  });

  it('reports the threshold the kernel applies, and warns when writeback comes in bursts', () => {
    const ratio = { dirty_background_bytes: 0, dirty_background_ratio: 10, dirty_expire_centisecs: 3000 };
    expect(backgroundThresholdBytes(ratio, 20 * gib)).toBe(2 * gib);
    const bursty = formatWriteback({ before: ratio, during: ratio, action: 'left as it is (--dirty-background-bytes 0)' }, 20 * gib);
    expect(bursty).toMatch(/10 % of memory \(about 2048 MiB\).*30 s/);
    expect(bursty).toMatch(/WARNING: dirty pages are written back in bursts/);
    const tuned = { ...ratio, dirty_background_bytes: 4 * 1024 * 1024 };
    const line = formatWriteback({ before: ratio, during: tuned, action: 'set for this run, put back after it' }, 20 * gib);
    expect(line).toMatch(/background writeback from 4\.0 MiB dirty/);
    expect(line).not.toMatch(/WARNING/);
    expect(formatWriteback(undefined, gib)).toMatch(/not recorded/);
  });

  it('takes --dirty-background-bytes (default 4 MiB; 0 leaves the kernel alone)', () => {
    expect(parseBenchOptions([]).dirty_background_bytes).toBe(4 * 1024 * 1024);
    expect(parseBenchOptions(['--dirty-background-bytes', '0']).dirty_background_bytes).toBe(0);
    expect(() => parseBenchOptions(['--dirty-background-bytes', '-1'])).toThrow(/--dirty-background-bytes/);
  });
});
