// The kernel's writeback of dirty pages on the database host, read for every report and, when
// the benchmark runs as root, set for the length of the run.
//
// Why it matters: PostgreSQL writes each new page of a growing table or index into the page
// cache (relation extension) and fsyncs those files only at a checkpoint. Clearway's tables
// grow by about 8 MB/s at the closed-loop rate. With Linux's defaults (background writeback from
// 10 % of RAM, pages older than 30 s written back) nothing is written for 30 s, then the flusher
// writes the ~200 MB at once; the virtual disk's queue fills and every commit's WAL fsync waits
// behind it: a 150–250 ms stall every 30 s, which is most of the open loop's p99. With
// background writeback from a few MiB, the same pages go out continuously in small writes and
// the stall is gone (docs/benchmarks.md, session 7). Database hosts are commonly tuned so; the
// benchmark does it for its run and puts the previous values back when it stops.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The benchmark's setting: background writeback from 4 MiB of dirty pages. */
export const dirty_background_bytes_default = 4 * 1024 * 1024;
/** Above this the report warns that writeback comes in bursts. */
export const dirty_background_bytes_bursty = 64 * 1024 * 1024;

export interface WritebackSettings {
  /** 0 when the threshold is set as a ratio instead. */
  readonly dirty_background_bytes: number;
  /** Percent of available memory; the kernel ignores it while dirty_background_bytes is set. */
  readonly dirty_background_ratio: number;
  readonly dirty_expire_centisecs: number;
}

export interface KernelWriteback {
  /** As found before the run; null where /proc/sys/vm cannot be read (not Linux). */
  readonly before: WritebackSettings | null;
  /** During the run; equal to `before` when the benchmark left the kernel alone. */
  readonly during: WritebackSettings | null;
  /** What the benchmark did, in words (for the report). */
  readonly action: string;
}

export const procSysVm = '/proc/sys/vm';

function readNumber(dir: string, name: string): number {
  const value = Number(readFileSync(path.join(dir, name), 'utf8').trim());
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} is not a non-negative integer`);
  return value;
}

export function readWriteback(dir = procSysVm): WritebackSettings | null {
  try {
    return {
      dirty_background_bytes: readNumber(dir, 'dirty_background_bytes'),
      dirty_background_ratio: readNumber(dir, 'dirty_background_ratio'),
      dirty_expire_centisecs: readNumber(dir, 'dirty_expire_centisecs'),
    };
  } catch {
    return null;
  }
}

/** The dirty bytes at which background writeback starts, as the kernel applies it. */
export function backgroundThresholdBytes(settings: WritebackSettings, memory_bytes: number): number {
  return settings.dirty_background_bytes > 0 ? settings.dirty_background_bytes : Math.floor((memory_bytes * settings.dirty_background_ratio) / 100);
}

/**
 * Sets background writeback from `bytes` dirty bytes; 0 leaves the kernel alone. Returns what was
 * done and the step that puts the previous values back (writing the ratio back clears the bytes
 * setting, as the kernel keeps only one of the two).
 */
export function tuneWriteback(bytes: number, dir = procSysVm): { readonly writeback: KernelWriteback; readonly restore: () => void } {
  const before = readWriteback(dir);
  const unchanged = (action: string) => ({ writeback: { before, during: before, action }, restore: () => {} });
  if (before === null) return unchanged('not read (no /proc/sys/vm): left as it is');
  if (bytes === 0) return unchanged('left as it is (--dirty-background-bytes 0)');
  if (before.dirty_background_bytes === bytes) return unchanged('already as the benchmark sets it');
  try {
    writeFileSync(path.join(dir, 'dirty_background_bytes'), String(bytes));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return unchanged(`left as it is: setting it needs root (${code})`);
  }
  const restore = (): void => {
    if (before.dirty_background_bytes > 0) writeFileSync(path.join(dir, 'dirty_background_bytes'), String(before.dirty_background_bytes));
    else writeFileSync(path.join(dir, 'dirty_background_ratio'), String(before.dirty_background_ratio));
  };
  return { writeback: { before, during: readWriteback(dir), action: 'set for this run, put back after it' }, restore };
}

const mib = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(bytes < 1024 ** 2 * 10 ? 1 : 0)} MiB`;

function describe(settings: WritebackSettings, memory_bytes: number): string {
  const threshold = settings.dirty_background_bytes > 0 ? mib(settings.dirty_background_bytes) : `${settings.dirty_background_ratio} % of memory (about ${mib(backgroundThresholdBytes(settings, memory_bytes))})`;
  return `background writeback from ${threshold} dirty, pages written back after ${settings.dirty_expire_centisecs / 100} s`;
}

/** One line for the report, with a warning when the run's writeback came in bursts. */
export function formatWriteback(writeback: KernelWriteback | undefined, memory_bytes: number): string {
  if (writeback === undefined) return '  kernel writeback: not recorded';
  if (writeback.during === null) return `  kernel writeback: ${writeback.action}`;
  const line = `  kernel writeback: ${describe(writeback.during, memory_bytes)} — ${writeback.action}`;
  const bursty = backgroundThresholdBytes(writeback.during, memory_bytes) > dirty_background_bytes_bursty;
  return bursty ? `${line}\n    WARNING: dirty pages are written back in bursts; expect commit stalls of 100-250 ms every ${writeback.during.dirty_expire_centisecs / 100} s in the open loop (see docs/benchmarks.md)` : line;
}
