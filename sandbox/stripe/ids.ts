import { randomBytes } from 'node:crypto';

// Stripe-looking ids: a prefix, an underscore, then base62 randomness (pi_3MtwBwLkdIwHu7ix28a3tqPa).

const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function randomBase62(length: number): string {
  if (!(Number.isInteger(length) && length > 0 && length <= 256)) throw new Error('randomBase62: bad length');
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte >= 248) continue; // 248 = 4 * 62: keeps the draw uniform
      out += alphabet[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

export function stripeId(prefix: string): string {
  if (!/^[a-z]{2,5}$/.test(prefix)) throw new Error(`stripeId: bad prefix ${prefix}`);
  return `${prefix}_${randomBase62(24)}`;
}
