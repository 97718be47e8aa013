import { randomBytes } from 'node:crypto';

// Stripe-looking ids: a prefix, an underscore, then base62 randomness (pi_3MtwBwLkdIwHu7ix28a3tqPa).

const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

// Random bytes come from the CSPRNG a pool at a time: a payment takes several ids, and one
// call per id was a visible part of the sandbox's cost under load.
const randomPoolBytes = 4096;
let randomPool = Buffer.alloc(0);
let randomOffset = 0;

function nextRandomByte(): number {
  if (randomOffset >= randomPool.length) {
    randomPool = randomBytes(randomPoolBytes);
    randomOffset = 0;
  }
  return randomPool[randomOffset++]!;
}

export function randomBase62(length: number): string {
  if (!(Number.isInteger(length) && length > 0 && length <= 256)) throw new Error('randomBase62: bad length');
  let out = '';
  while (out.length < length) {
    const byte = nextRandomByte();
    if (byte >= 248) continue; // 248 = 4 * 62: keeps the draw uniform
    out += alphabet[byte % 62];
  }
  return out;
}

export function stripeId(prefix: string): string {
  if (!/^[a-z]{2,5}$/.test(prefix)) throw new Error(`stripeId: bad prefix ${prefix}`);
  return `${prefix}_${randomBase62(24)}`;
}
