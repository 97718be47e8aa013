import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/fresh-database.ts';
import { openPglite } from '../../src/db/pglite.ts';
import { keyedLaneSettings, openPostgres, preparedStatementsMax } from '../../src/db/postgres.ts';
import { migrate, pendingMigrations, splitStatements } from '../../src/db/migrate.ts';

describe('embedded PGlite store', () => {
  it('refuses a data folder another process holds, and opens it once that process is gone', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'clearway-lock-'));
    try {
      const script = `import { openPglite } from ${JSON.stringify(path.resolve('src/db/pglite.ts'))};
        const db = await openPglite({ dataDir: ${JSON.stringify(dir)} });
        console.log('open'); setTimeout(async () => { await db.close(); process.exit(0); }, 4000);`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d) => String(d).includes('open') && resolve());
        child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
      });
      await expect(openPglite({ dataDir: dir })).rejects.toThrow(/in use by process/);
      await new Promise((resolve) => child.on('exit', resolve));
      const db = await openPglite({ dataDir: dir });
      await migrate(db);
      expect(await pendingMigrations(db)).toBe(0);
      await db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('reads bigint columns as BigInt', async () => {
    const db = await openPglite({ dataDir: 'memory' });
    const { rows } = await db.query<{ a: bigint }>('SELECT 9007199254740993::bigint AS a');
    expect(rows[0]!.a).toBe(9007199254740993n);
    await db.close();
  });

  it('splits migration scripts into statements', () => {
    expect(splitStatements('-- c\nCREATE TABLE a (x int);\nCREATE FUNCTION f() RETURNS int AS $$\nSELECT 1;\n$$ LANGUAGE sql;\n')).toEqual([
      'CREATE TABLE a (x int);',
      'CREATE FUNCTION f() RETURNS int AS $$\nSELECT 1;\n$$ LANGUAGE sql;',
    ]);
  });
});

describe.runIf(process.env.TEST_DATABASE_URL)('PostgreSQL server store', () => {
  async function scratch() {
    const database = await freshDatabase(process.env.TEST_DATABASE_URL!, 'clearway_store');
    return openPostgres({ url: database.url, poolSize: 8 });
  }

  it('reads bigint as BigInt, and migrates concurrently without applying twice', async () => {
    const db = await scratch();
    const results = await Promise.all([migrate(db), migrate(db), migrate(db)]);
    expect(results.flat().filter((name) => name.startsWith('1_')).length).toBe(1);
    const { rows } = await db.query<{ a: bigint }>('SELECT 9007199254740993::bigint AS a');
    expect(rows[0]!.a).toBe(9007199254740993n);
    await db.close();
  });

  it('prepares a statement once per connection, at most preparedStatementsMax texts; per-call statements are not prepared', async () => {
    const database = await freshDatabase(process.env.TEST_DATABASE_URL!, 'clearway_store');
    const db = openPostgres({ url: database.url, poolSize: 1 }); // one connection: pg_prepared_statements is its own
    try {
      const texts = preparedStatementsMax + 10;
      for (let i = 0; i < texts; i++) {
        const { rows } = await db.query<{ n: number }>(`SELECT $1::int + ${i} AS n`, [1]);
        expect(rows[0]!.n).toBe(1 + i);
      }
      expect((await db.query<{ n: number }>('SELECT $1::int + 0 AS n', [5])).rows[0]!.n).toBe(5); // prepared already: reused
      expect((await db.query<{ n: number }>('SELECT $1::int * 2 AS n', [21], { plan: 'per_call' })).rows[0]!.n).toBe(42);
      const { rows } = await db.query<{ n: bigint }>('SELECT count(*) AS n FROM pg_prepared_statements');
      expect(rows[0]!.n).toBe(BigInt(preparedStatementsMax));
    } finally {
      await db.close();
      await database.drop();
    }
  });

  it('plans keyed statements once, as key lookups, on the keyed lane, and per call elsewhere', async () => {
    const database = await freshDatabase(process.env.TEST_DATABASE_URL!, 'clearway_store');
    const db = openPostgres({ url: database.url, poolSize: 1 });
    try {
      // A small table: a plan made now would hash-join a sequential scan of it, were it allowed to.
      await db.exec("CREATE TABLE items (id text PRIMARY KEY, qty int NOT NULL); INSERT INTO items SELECT 'i' || n, n FROM generate_series(1, 20) n; ANALYZE items;");
      const sql = 'SELECT i.id, t.qty FROM unnest($1::text[]) WITH ORDINALITY AS i(id, position) JOIN items t ON t.id = i.id ORDER BY i.position';
      const prepared = (tx: { query: typeof db.query }) =>
        tx.query<{ generic_plans: bigint; custom_plans: bigint }>('SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1', [sql], { plan: 'per_call' });
      await db.keyed.transaction(async (tx) => {
        for (const setting of keyedLaneSettings) {
          const [name, value] = setting.split('=') as [string, string];
          expect((await tx.query<Record<string, string>>(`SHOW ${name}`)).rows[0]![name]).toBe(value);
        }
        for (let call = 0; call < 3; call++) {
          const { rows } = await tx.query<{ id: string; qty: number }>(sql, [['i3', 'i17', 'i9']], { plan: 'keyed' });
          expect(rows).toEqual([{ id: 'i3', qty: 3 }, { id: 'i17', qty: 17 }, { id: 'i9', qty: 9 }]);
        }
        expect((await prepared(tx)).rows).toEqual([{ generic_plans: 3n, custom_plans: 0n }]);
        const plan = (await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) ${sql.replace('$1::text[]', "'{i3,i17,i9}'::text[]")}`)).rows.map((row) => row['QUERY PLAN']).join('\n');
        expect(plan).toMatch(/Index Scan using items_pkey/);
        expect(plan).not.toMatch(/Seq Scan on items|Hash Join|Merge Join/);
      });
      await db.transaction(async (tx) => {
        const { rows } = await tx.query<{ id: string; qty: number }>(sql, [['i5']], { plan: 'keyed' });
        expect(rows).toEqual([{ id: 'i5', qty: 5 }]);
        expect((await prepared(tx)).rows).toEqual([]); // planned for this call only: nothing kept
      });
    } finally {
      await db.close();
      await database.drop();
    }
  });

  it('retries a transaction that lost a deadlock, so both writers finish', async () => {
    const db = await scratch();
    await db.exec('CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL); INSERT INTO accounts VALUES (1, 0), (2, 0);');
    let runs = 0;
    let arrived = 0;
    let release!: () => void;
    const barrier = new Promise<void>((resolve) => (release = resolve));
    const transfer = (first: number, second: number) =>
      db.transaction(async (tx) => {
        runs++;
        await tx.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [first]);
        if (++arrived === 2) release();
        await barrier;
        await tx.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [second]);
      });
    await Promise.all([transfer(1, 2), transfer(2, 1)]);
    expect(runs).toBe(3); // one of the two was chosen as the deadlock victim and ran again
    const { rows } = await db.query<{ id: number; balance: bigint }>('SELECT id, balance FROM accounts ORDER BY id');
    expect(rows.map((r) => r.balance)).toEqual([2n, 2n]);
    await db.close();
  });

  it('retries serialization failures, and gives up after the limit with the error', async () => {
    const db = await scratch();
    let calls = 0;
    const value = await db.transaction(async () => {
      calls++;
      if (calls < 3) throw Object.assign(new Error('could not serialize access'), { code: '40001' });
      return 'done';
    });
    expect(value).toBe('done');
    expect(calls).toBe(3);
    await expect(db.transaction(async () => { throw Object.assign(new Error('always'), { code: '40001' }); })).rejects.toThrow('always');
    await db.close();
  });
});
