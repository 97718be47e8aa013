// WAL segments ready before the load, as on a server that has been running.
//
// A running PostgreSQL server recycles its WAL: after each checkpoint, segments no longer needed
// are renamed to future segment names, and writing moves into them without creating a file. A
// fresh cluster has none, so during the benchmark every 16 MB of WAL (about every 2-3 s at the
// closed-loop rate) a committing backend creates the next segment: 16 MB of zeros written and
// fsynced while it holds the WAL write lock, every other commit waiting. That is a cost of the
// cluster being new, not of Clearway. The benchmark therefore keeps `min_wal_size` worth of
// segments for recycling and fills them once before the load: it switches segments until that
// much WAL exists, then checkpoints, which renames them for reuse.

import { psqlQuery } from './run-client.ts';

/** Segments (16 MB each) the benchmark's server keeps for reuse: more than one run writes. */
export const wal_prewarm_segments = 64;

/**
 * postgresql.conf settings that let the server keep `segments` prewarmed segments for reuse
 * (`max_wal_size` must be at least `min_wal_size`; four times it, so neither the prewarm nor
 * the run's own WAL triggers a checkpoint by volume: PostgreSQL starts one after about
 * max_wal_size / (1 + checkpoint_completion_target) of WAL).
 */
export function walPrewarmSettings(segments = wal_prewarm_segments): Record<string, string> {
  return { min_wal_size: `'${segments * 16}MB'`, max_wal_size: `'${segments * 16 * 4}MB'` };
}

export interface WalPrewarm {
  /** Segment files in pg_wal after the checkpoint. */
  readonly segments_ready: number;
  readonly seconds: number;
}

/** Creates `segments` WAL segments and checkpoints so that they are recycled for the run. */
export async function prewarmWal(bindir: string, port: number, segments = wal_prewarm_segments): Promise<WalPrewarm> {
  const started = performance.now();
  // One statement: each round writes a WAL record (a logical message) and switches to a new segment.
  await psqlQuery(bindir, port, `DO $$ BEGIN FOR i IN 1..${segments} LOOP PERFORM pg_logical_emit_message(false, 'clearway-bench', 'prewarm'); PERFORM pg_switch_wal(); END LOOP; END $$`);
  await psqlQuery(bindir, port, 'CHECKPOINT');
  return { segments_ready: await walSegmentCount(bindir, port), seconds: (performance.now() - started) / 1000 };
}

/** WAL segment files in pg_wal (the current one, and those ready for reuse). */
export async function walSegmentCount(bindir: string, port: number): Promise<number> {
  return Number(await psqlQuery(bindir, port, "SELECT count(*) FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'"));
}
