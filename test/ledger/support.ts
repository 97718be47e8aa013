// Opens a fresh, migrated database on one store for a ledger test: PGlite in memory, or a new
// database on the PostgreSQL server of `npm test` (TEST_DATABASE_URL).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Database } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import { openPglite } from '../../src/db/pglite.ts';
import { openPostgres } from '../../src/db/postgres.ts';
import type { StoreName } from '../support/harness.ts';

export interface LedgerStore {
  readonly db: Database;
  close(): Promise<void>;
}

export async function openLedgerStore(store: StoreName, poolSize = 20): Promise<LedgerStore> {
  if (store === 'pglite') {
    const db = await openPglite({ dataDir: 'memory' });
    await migrate(db);
    return { db, close: () => db.close() };
  }
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) throw new Error('openLedgerStore: postgres needs TEST_DATABASE_URL');
  const name = `clearway_ledger_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = openPostgres({ url: url.toString(), poolSize });
  await migrate(db);
  return {
    db,
    async close() {
      await db.close();
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}
