// One interface over both stores: embedded PGlite and a PostgreSQL server.
// Repositories take a `Queryable`, so the same SQL runs inside or outside a transaction,
// and a later batching executor can implement the same interface without touching the domain.

export interface QueryResult<Row> {
  readonly rows: Row[];
  readonly rowCount: number;
}

/**
 * How a statement is planned on a PostgreSQL server (PGlite prepares nothing and ignores it):
 * - `cached` (the default): prepared once per connection.
 * - `per_call`: planned for the values of each call: for a statement whose best plan depends on
 *   its arrays' lengths and the tables' current sizes, where a plan cached while the tables were
 *   small would stay wrong.
 * - `keyed`: a set-based statement that only finds rows by key (a batch over arrays joined on
 *   primary keys). On `Database.keyed` it is prepared once per connection, and those connections
 *   plan every statement as key lookups (no sequential scans, hash or merge joins), so the cached
 *   plan stays right however big the tables grow. Anywhere else it is planned per call.
 */
export interface QueryOptions {
  readonly plan?: 'cached' | 'per_call' | 'keyed';
}

export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<Row>>;
}

export type StoreKind = 'pglite' | 'postgres';

export interface Database extends Queryable {
  readonly kind: StoreKind;
  /**
   * Runs `work` in one transaction. Serialization failures (40001) and deadlocks (40P01) are
   * retried from the start, up to limits.transaction_retries_max times; `work` must therefore be
   * free of side effects outside the database.
   */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * The same database, on connections of its own that plan every statement as key lookups and
   * keep one generic plan per statement: for the hot path's group-committed writes, whose
   * `keyed` statements then cost no planning per call. Its own `keyed` is itself, and closing it
   * closes the whole database. PGlite: the database itself.
   */
  readonly keyed: Database;
  /** Runs a script of several statements (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

const retryableSqlStates = new Set(['40001', '40P01']);

export function isRetryableTransactionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && retryableSqlStates.has(code);
}

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const e = error as { code?: unknown; constraint?: unknown } | null;
  if (e?.code !== '23505') return false;
  return constraint === undefined || e.constraint === constraint;
}

/** Exponential backoff with jitter between transaction retries, in ms. */
export function retryDelayMs(attempt: number): number {
  const base = Math.min(2 ** attempt, 64);
  return base + Math.floor(Math.random() * base);
}
