import type { Database } from './database.ts';
import { openPglite } from './pglite.ts';
import { openPostgres } from './postgres.ts';

export interface StorageConfig {
  /** A PostgreSQL server; when absent, embedded PGlite. */
  readonly databaseUrl: string | null;
  /** PGlite data folder, or `memory`. */
  readonly dataDir: string;
  readonly poolSize?: number;
}

export async function openDatabase(config: StorageConfig): Promise<Database> {
  if (config.databaseUrl) {
    return openPostgres({ url: config.databaseUrl, ...(config.poolSize ? { poolSize: config.poolSize } : {}) });
  }
  return openPglite({ dataDir: config.dataDir });
}
