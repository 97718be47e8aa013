import { randomBytes } from 'node:crypto';

// Ids carry a prefix naming their kind, then 24 base32 characters of randomness.
export const idPrefixes = Object.freeze({
  merchant: 'mch',
  order: 'ord',
  payment: 'pay',
  attempt: 'att',
  refund: 'ref',
  late_success_refund: 'lsr',
  coupon: 'cpn',
  event: 'evt',
  webhook_endpoint: 'whe',
  webhook_delivery: 'whd',
  journal: 'jrn',
  payout: 'po',
  payout_attempt: 'poa',
  routing_policy: 'rtp',
  settlement_batch: 'stl',
  request: 'req',
});

export type IdKind = keyof typeof idPrefixes;

const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
const bodyLength = 24;

// Random bytes are drawn from the CSPRNG a pool at a time (one call per 170 ids instead of one
// per id: every request, payment, event and entry takes one).
const randomPoolBytes = 4096;
let randomPool = Buffer.alloc(0);
let randomOffset = 0;

function randomBody(): Buffer {
  if (randomOffset + bodyLength > randomPool.length) {
    randomPool = randomBytes(randomPoolBytes);
    randomOffset = 0;
  }
  const bytes = randomPool.subarray(randomOffset, randomOffset + bodyLength);
  randomOffset += bodyLength;
  return bytes;
}

export function newId(kind: IdKind): string {
  let body = '';
  for (const byte of randomBody()) body += alphabet[byte & 31];
  return `${idPrefixes[kind]}_${body}`;
}

const idPattern = new RegExp(`^[a-z]{2,3}_[${alphabet}]{${bodyLength}}$`);

export function isIdOf(kind: IdKind, value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(`${idPrefixes[kind]}_`) && idPattern.test(value);
}

/** JSON-schema pattern for an id of one kind (used by request schemas). */
export function idSchemaPattern(kind: IdKind): string {
  return `^${idPrefixes[kind]}_[${alphabet}]{${bodyLength}}$`;
}
