// Versioned migrations: src/db/migrations/NNNN_name.sql, applied in order, each in its own
// transaction, recorded in schema_migrations. Concurrent migrators serialize on an advisory lock.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.ts';

const migrationsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
const migrationLockKey = 727_001; // arbitrary, constant: the advisory lock all migrators take

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export function listMigrations(): Migration[] {
  return readdirSync(migrationsDir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      sql: readFileSync(path.join(migrationsDir, file), 'utf8'),
    }));
}

async function appliedVersions(db: Database): Promise<Set<number>> {
  return db.transaction(async (tx) => {
    const { rows: present } = await tx.query("SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'schema_migrations'");
    if (present.length === 0) {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [migrationLockKey]);
      await tx.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
      );
    }
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    return new Set(rows.map((row) => Number(row.version)));
  });
}

export async function migrate(db: Database): Promise<string[]> {
  const applied: string[] = [];
  await appliedVersions(db);
  for (const migration of listMigrations()) {
    const done = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [migrationLockKey]);
      const { rows } = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
      if (rows.length > 0) return false;
      for (const statement of splitStatements(migration.sql)) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      return true;
    });
    if (done) applied.push(`${migration.version}_${migration.name}`);
  }
  return applied;
}

/** Migrations pending on this database (for /readyz). */
export async function pendingMigrations(db: Database): Promise<number> {
  const versions = await appliedVersions(db);
  return listMigrations().filter((m) => !versions.has(m.version)).length;
}

/**
 * Splits a migration script into statements so each runs through the parameterized query path
 * inside the migration's transaction. Statements end with `;` at the end of a line; dollar-quoted
 * bodies ($$ ... $$) are kept whole.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current = '';
  let inDollarQuote = false;
  for (const line of sql.split('\n')) {
    if (/^\s*--/.test(line) && !inDollarQuote) continue;
    current += line + '\n';
    const dollarCount = (line.match(/\$\$/g) ?? []).length;
    if (dollarCount % 2 === 1) inDollarQuote = !inDollarQuote;
    if (!inDollarQuote && /;\s*$/.test(line)) {
      statements.push(current.trim());
      current = '';
    }
  }
  if (current.trim()) statements.push(current.trim());
  return statements;
}
