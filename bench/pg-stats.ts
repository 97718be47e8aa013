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
