// Work the database did between two snapshots: committed transactions and WAL flushes. Divided
// by the payments made, it shows what one payment costs the database (one TPC-B transaction of
// pgbench is one commit and about one WAL flush).

import { psqlQuery } from './run-client.ts';

export interface PgStatsSnapshot {
  readonly xact_commit: number;
  readonly xact_rollback: number;
  readonly wal_records: number;
  readonly wal_sync: number;
  readonly wal_bytes: number;
}

export type PgStatsDelta = PgStatsSnapshot;

/**
 * How long to wait after a load stops before taking the snapshot that closes it. PostgreSQL 15's
 * backends publish their counts to pg_stat_* when they go idle, at most once a second, so counts
 * read at once can miss the last second of work. The snapshot is taken before the next phase
 * starts: the wallet phase's commits (its payers poll every 2 ms) are not the card purchases'.
 */
export const stats_flush_wait_ms = 2_000;

const snapshotSql = `SELECT d.xact_commit, d.xact_rollback, w.wal_records, w.wal_sync, w.wal_bytes
  FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = current_database()`;

export async function pgStatsSnapshot(bindir: string, port: number): Promise<PgStatsSnapshot> {
  const row = await psqlQuery(bindir, port, snapshotSql);
  const values = row.split('|').map(Number);
  if (values.length !== 5 || values.some((value) => !Number.isFinite(value))) throw new Error(`unexpected pg_stat row: ${JSON.stringify(row)}`);
  const [xact_commit, xact_rollback, wal_records, wal_sync, wal_bytes] = values as [number, number, number, number, number];
  return { xact_commit, xact_rollback, wal_records, wal_sync, wal_bytes };
}

export function pgStatsDelta(before: PgStatsSnapshot, after: PgStatsSnapshot): PgStatsDelta {
  return {
    xact_commit: after.xact_commit - before.xact_commit,
    xact_rollback: after.xact_rollback - before.xact_rollback,
    wal_records: after.wal_records - before.wal_records,
    wal_sync: after.wal_sync - before.wal_sync,
    wal_bytes: after.wal_bytes - before.wal_bytes,
  };
}
