import { createHash } from 'node:crypto';
import pg from 'pg';
import { limits } from '../kernel/limits.ts';
import { isRetryableTransactionError, retryDelayMs, type Database, type Queryable, type QueryOptions, type QueryResult } from './database.ts';

const INT8_OID = 20;
/** Distinct statement texts prepared per connection at most; past it, new texts run unnamed. */
export const preparedStatementsMax = 1_000;

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

/**
 * Settings of the `keyed` lane's connections (Database.keyed): every statement is planned as key
 * lookups (nested loops over index scans) and keeps one generic plan, made at its first call.
 * A generic plan made while a table is small would otherwise hash-join a sequential scan of it
 * and keep doing so as it grows (docs/benchmarks.md, session 4).
 */
export const keyedLaneSettings = ['plan_cache_mode=force_generic_plan', 'enable_seqscan=off', 'enable_hashjoin=off', 'enable_mergejoin=off'] as const;

export function openPostgres(options: PostgresOptions): Database {
  const main = openPool(options.url, options.poolSize ?? limits.database_pool_connections_max, 'clearway', null);
  const keyed = openPool(options.url, limits.database_keyed_connections_max, 'clearway_keyed', keyedLaneSettings.map((setting) => `-c ${setting}`).join(' '));
  // One database with two pools: closing either closes both.
  const close = async (): Promise<void> => {
    await Promise.all([main.close(), keyed.close()]);
  };
  const lane: Database = {
    ...keyed,
    get keyed() {
      return lane;
    },
    close,
  };
  return { ...main, keyed: lane, close };
}

/** A pool of connections as a Database (without its keyed lane); `startupOptions` are given to each connection. */
function openPool(url: string, max: number, application_name: string, startupOptions: string | null): Omit<Database, 'keyed'> {
  const keyedLane = startupOptions !== null;
  const pool = new pg.Pool({
    connectionString: url,
    max,
    types: typeParsers,
    application_name,
    ...(startupOptions === null ? {} : { options: startupOptions }),
  });
  pool.on('error', () => {
    // An idle client lost its connection (database restart): the pool replaces it on next use.
  });

  // Statements with parameters run as named prepared statements: each connection parses and
  // plans a statement once, not on every call (the name is a hash of the text; the set of
  // statements is the fixed set our code contains, so the per-connection cache stays small).
  // Past preparedStatementsMax distinct texts, a new text runs unnamed (planned per call), so no
  // connection keeps an unbounded number of prepared statements.
  const statementNames = new Map<string, string>();
  const nameOf = (sql: string): string | undefined => {
    let name = statementNames.get(sql);
    if (name === undefined && statementNames.size < preparedStatementsMax) {
      name = `cw_${createHash('sha1').update(sql).digest('hex').slice(0, 16)}`;
      statementNames.set(sql, name);
    }
    return name;
  };
  const wrap = (client: pg.Pool | pg.PoolClient): Queryable => ({
    async query<Row>(sql: string, params: readonly unknown[] = [], options: QueryOptions = {}): Promise<QueryResult<Row>> {
      const perCall = options.plan === 'per_call' || (options.plan === 'keyed' && !keyedLane);
      const result =
        params.length === 0 ? await client.query(sql)
        : perCall ? await client.query(sql, params as unknown[])
        : await client.query({ name: nameOf(sql), text: sql, values: params as unknown[] }); // unnamed when nameOf says so
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

  // A statement outside a transaction that lost a deadlock or a serialization race was rolled
  // back whole, so running it again is safe: do so, as transactions do.
  const poolQueryable = wrap(pool);
  async function query<Row>(sql: string, params: readonly unknown[] = [], options: QueryOptions = {}): Promise<QueryResult<Row>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await poolQueryable.query<Row>(sql, params, options);
      } catch (error) {
        if (!isRetryableTransactionError(error) || attempt >= limits.transaction_retries_max) throw error;
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs(attempt)));
      }
    }
  }

  return {
    kind: 'postgres',
    query,
    transaction,
    async exec(sql: string) {
      await pool.query(sql);
    },
    async close() {
      await pool.end();
    },
  };
}
