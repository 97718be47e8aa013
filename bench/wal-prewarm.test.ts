// The benchmark's WAL prewarm on a real PostgreSQL server: segments are there before the load,
// and writing WAL afterwards reuses them instead of creating files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPgCluster, type PgCluster } from '../test/support/pg-cluster.ts';
import { psqlQuery } from './run-client.ts';
import { prewarmWal, walPrewarmSettings, walSegmentCount } from './wal-prewarm.ts';

const segments = 8; // 128 MB: enough to show reuse, little disk for a test

describe('WAL prewarm', () => {
  let cluster: PgCluster;
  beforeAll(async () => {
    cluster = await startPgCluster({ settings: walPrewarmSettings(segments) });
  }, 60_000);
  afterAll(() => cluster?.stop());

  it('leaves the segments ready for reuse, so the next segments of WAL create no file', async () => {
    const fresh = await walSegmentCount(cluster.bindir, cluster.port);
    const prewarm = await prewarmWal(cluster.bindir, cluster.port, segments);
    expect(prewarm.segments_ready).toBeGreaterThanOrEqual(segments);
    expect(prewarm.segments_ready).toBeGreaterThan(fresh);
    const before = await walSegmentCount(cluster.bindir, cluster.port);
    // Three segments' worth of switching: each lands in a recycled file, none is created.
    await psqlQuery(cluster.bindir, cluster.port, "DO $$ BEGIN FOR i IN 1..3 LOOP PERFORM pg_logical_emit_message(false, 'test', 'x'); PERFORM pg_switch_wal(); END LOOP; END $$");
    await psqlQuery(cluster.bindir, cluster.port, "SELECT pg_logical_emit_message(false, 'test', 'x')");
    expect(await walSegmentCount(cluster.bindir, cluster.port)).toBe(before);
  }, 60_000);

  it('keeps min_wal_size worth of segments, and max_wal_size at four times that', () => {
    expect(walPrewarmSettings(64)).toEqual({ min_wal_size: "'1024MB'", max_wal_size: "'4096MB'" });
  });
});
