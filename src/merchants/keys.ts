import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

// API keys are shown once and stored only as a SHA-256 hash (keys carry 192 bits of randomness,
// so a fast hash is the right tool: there is nothing to brute-force).

export function newMerchantKey(): string {
  return `sk_test_${randomBytes(24).toString('base64url')}`;
}

export function newAdminKey(): string {
  return `ak_${randomBytes(24).toString('base64url')}`;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented key's hash (`hashKey`) with a stored hash. */
export function hashesMatch(presentedHash: string, storedHash: string): boolean {
  const a = Buffer.from(presentedHash, 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
