// Starts Clearway for an HTTP test on one store: embedded PGlite in memory, or the PostgreSQL
// server of `npm test` (TEST_DATABASE_URL), each test app on a database of its own.
// Requests go over real HTTP; the card sandbox runs on its own loopback port.
import { afterAll, beforeAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { freshDatabase } from './fresh-database.ts';
import { loadConfig } from '../../src/config.ts';
import { startApp, type RunningApp } from '../../src/app.ts';
import { createLogger } from '../../src/logger.ts';
import type { Clock } from '../../src/kernel/clock.ts';

export type StoreName = 'pglite' | 'postgres';

/** The stores every HTTP suite runs on. PostgreSQL needs TEST_DATABASE_URL (npm test sets it). */
export const stores: StoreName[] = process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
if (!process.env.TEST_DATABASE_URL) {
  console.warn('TEST_DATABASE_URL is not set: HTTP suites run on PGlite only. `npm test` starts a PostgreSQL server and runs both.');
}

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface TestApp {
  readonly app: RunningApp;
  readonly url: string;
  readonly adminKey: string;
  request<T = any>(method: string, path: string, options?: { key?: string | null; body?: unknown; rawBody?: string; headers?: Record<string, string> }): Promise<Reply<T>>;
  newMerchant(name?: string): Promise<{ id: string; key: string }>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  readonly clock?: Clock;
  readonly env?: Record<string, string>;
}

export async function startTestApp(store: StoreName, options: TestAppOptions = {}): Promise<TestApp> {
  const database = store === 'postgres' ? await freshDatabase(process.env.TEST_DATABASE_URL!) : null;
  const adminKey = `ak_test_${randomBytes(12).toString('hex')}`;
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    CLEARWAY_ADMIN_KEY: adminKey,
    CLEARWAY_DATA_DIR: 'memory',
    CLEARWAY_WORKERS: '0',
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...options.env,
  });
  const app = await startApp({ config, logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'), ...(options.clock ? { clock: options.clock } : {}) });
  const url = app.url!;

  const request: TestApp['request'] = async (method, path, requestOptions = {}) => {
    const headers: Record<string, string> = { ...requestOptions.headers };
    if (requestOptions.key !== null && requestOptions.key !== undefined) headers.authorization = `Bearer ${requestOptions.key}`;
    let body: string | undefined;
    if (requestOptions.rawBody !== undefined) body = requestOptions.rawBody;
    else if (requestOptions.body !== undefined) body = JSON.stringify(requestOptions.body);
    if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // not JSON (metrics, docs)
    }
    return { status: response.status, body: parsed as any, headers: response.headers };
  };

  return {
    app,
    url,
    adminKey,
    request,
    async newMerchant(name = 'Test Shop') {
      const reply = await request('POST', '/v1/merchants', { key: adminKey, body: { name } });
      if (reply.status !== 201) throw new Error(`merchant creation failed: ${reply.status} ${JSON.stringify(reply.body)}`);
      return { id: reply.body.id, key: reply.body.api_key };
    },
    async close() {
      await app.close();
      await database?.drop();
    },
  };
}

/**
 * The usual suite set-up: one app on the store and one merchant, started before the suite's
 * tests and closed after them. Read `current()` inside tests.
 */
export function useTestApp(store: StoreName, options: TestAppOptions = {}): () => { t: TestApp; merchant: { id: string; key: string } } {
  let state: { t: TestApp; merchant: { id: string; key: string } } | undefined;
  beforeAll(async () => {
    const t = await startTestApp(store, options);
    state = { t, merchant: await t.newMerchant() };
  });
  afterAll(async () => state?.t.close());
  return () => {
    if (!state) throw new Error('useTestApp: the suite has not started');
    return state;
  };
}
