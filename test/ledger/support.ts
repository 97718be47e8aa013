// Opens a fresh, migrated database on one store for a ledger test: PGlite in memory, or a new
// database on the PostgreSQL server of `npm test` (TEST_DATABASE_URL).
import type { Database } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrate.ts';
import { openPglite } from '../../src/db/pglite.ts';
import { openPostgres } from '../../src/db/postgres.ts';
import type { StoreName } from '../support/harness.ts';
import { freshDatabase } from '../support/fresh-database.ts';

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
  const database = await freshDatabase(serverUrl, 'clearway_ledger');
  const db = openPostgres({ url: database.url, poolSize });
  await migrate(db);
  return {
    db,
    async close() {
      await db.close();
      await database.drop();
    },
  };
}
