import { PGlite } from '@electric-sql/pglite';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { limits } from '../kernel/limits.ts';
import { isRetryableTransactionError, retryDelayMs, type Database, type Queryable, type QueryResult } from './database.ts';

const INT8_OID = 20;

/** `memory` keeps everything in memory (tests, demos); anything else is a data folder. */
export interface PgliteOptions {
  readonly dataDir: string | 'memory';
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * PGlite has no lock between processes: two processes on one folder would corrupt it.
 * We hold `clearway.lock` (our pid) for the life of the process and refuse a folder whose
 * lock names a live process.
 */
function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const lockPath = path.join(dataDir, 'clearway.lock');
  for (let tries = 0; tries < 2; tries++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(lockPath, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
        throw new Error(
          `data folder ${dataDir} is in use by process ${holder}; PGlite allows one process per folder. ` +
            'Stop that process, choose another CLEARWAY_DATA_DIR, or set DATABASE_URL to a PostgreSQL server.',
        );
      }
      rmSync(lockPath, { force: true }); // stale lock of a dead process
    }
  }
  throw new Error(`could not lock data folder ${dataDir}`);
}

export async function openPglite(options: PgliteOptions): Promise<Database> {
  const inMemory = options.dataDir === 'memory';
  const unlock = inMemory ? () => {} : lockDataDir(options.dataDir);
  const pgDir = inMemory ? undefined : path.join(options.dataDir, 'pgdata');
  let db: PGlite;
  try {
    db = await PGlite.create(pgDir, { parsers: { [INT8_OID]: (value: string) => BigInt(value) } });
  } catch (error) {
    unlock();
    throw error;
  }

  const wrap = (target: Pick<PGlite, 'query'>): Queryable => ({
    async query<Row>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<Row>> {
      const result = await target.query<Row>(sql, params as unknown[]);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
  });

  async function transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await db.transaction((tx) => work(wrap(tx)));
      } catch (error) {
        if (isRetryableTransactionError(error) && attempt < limits.transaction_retries_max) {
          await new Promise((resolve) => setTimeout(resolve, retryDelayMs(attempt)));
          continue;
        }
        throw error;
      }
    }
  }

  const database: Database = {
    kind: 'pglite',
    ...wrap(db),
    transaction,
    get keyed() {
      return database; // one connection, nothing prepared: no lane of its own
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
    async close() {
      await db.close();
      unlock();
    },
  };
  return database;
}
