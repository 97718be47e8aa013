import type { Queryable } from '../db/database.ts';
import { newId } from '../kernel/ids.ts';
import { hashKey, newMerchantKey } from './keys.ts';

export interface Merchant {
  readonly id: string;
  readonly name: string;
  readonly created_at: Date;
}

export async function createMerchant(db: Queryable, name: string, now: Date, apiKey: string = newMerchantKey()) {
  const id = newId('merchant');
  await db.query(
    'INSERT INTO merchants (id, name, api_key_hash, api_key_last4, created_at) VALUES ($1, $2, $3, $4, $5)',
    [id, name, hashKey(apiKey), apiKey.slice(-4), now],
  );
  return { merchant: { id, name, created_at: now } satisfies Merchant, apiKey };
}

export async function findMerchantByKeyHash(db: Queryable, keyHash: string): Promise<(Merchant & { api_key_hash: string }) | null> {
  const { rows } = await db.query<Merchant & { api_key_hash: string }>(
    'SELECT id, name, created_at, api_key_hash FROM merchants WHERE api_key_hash = $1',
    [keyHash],
  );
  return rows[0] ?? null;
}

export async function getMerchant(db: Queryable, id: string): Promise<Merchant | null> {
  const { rows } = await db.query<Merchant>('SELECT id, name, created_at FROM merchants WHERE id = $1', [id]);
  return rows[0] ?? null;
}

export async function readSetting(db: Queryable, key: string): Promise<string | null> {
  const { rows } = await db.query<{ value: string }>('SELECT value FROM platform_settings WHERE key = $1', [key]);
  return rows[0]?.value ?? null;
}

/** Stores a setting unless one exists; returns the value that is stored (ours or the earlier one). */
export async function writeSettingOnce(db: Queryable, key: string, value: string): Promise<string> {
  await db.query('INSERT INTO platform_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]);
  const stored = await readSetting(db, key);
  if (stored === null) throw new Error(`setting ${key} vanished`);
  return stored;
}
