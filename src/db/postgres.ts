import pg from 'pg';
import { limits } from '../kernel/limits.ts';
import { isRetryableTransactionError, retryDelayMs, type Database, type Queryable, type QueryResult } from './database.ts';

const INT8_OID = 20;

// bigint columns are money: always parse them as BigInt, never as number or string.
const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (value: string) => BigInt(value);
    return pg.types.getTypeParser(oid, format);
  },
} as unknown as pg.CustomTypesConfig;

export interface PostgresOptions {
  readonly url: string;
  readonly poolSize?: number;
}

export function openPostgres(options: PostgresOptions): Database {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? limits.database_pool_connections_max,
    types: typeParsers,
    application_name: 'clearway',
  });
  pool.on('error', () => {
    // An idle client lost its connection (database restart): the pool replaces it on next use.
  });

  const wrap = (client: pg.Pool | pg.PoolClient): Queryable => ({
    async query<Row>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<Row>> {
      const result = await client.query(sql, params as unknown[]);
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    },
  });

  async function transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const value = await work(wrap(client));
        await client.query('COMMIT');
        return value;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        if (isRetryableTransactionError(error) && attempt < limits.transaction_retries_max) {
          await new Promise((resolve) => setTimeout(resolve, retryDelayMs(attempt)));
          continue;
        }
        throw error;
      } finally {
        client.release(broken);
      }
    }
  }

  return {
    kind: 'postgres',
    ...wrap(pool),
    transaction,
    async exec(sql: string) {
      await pool.query(sql);
    },
    async close() {
      await pool.end();
    },
  };
}
