import type { FastifyRequest } from 'fastify';
import { ClearwayError } from '../kernel/errors.ts';
import { findMerchantByKeyHash } from '../merchants/repository.ts';
import { hashesMatch, hashKey } from '../merchants/keys.ts';
import type { AppContext, Principal } from './context.ts';

const cacheEntriesMax = 10_000;
const cacheTtlMs = 5_000;

/**
 * Resolves `Authorization: Bearer <key>` to a principal. Merchant keys are looked up by hash,
 * then compared in constant time; results are cached briefly so a hot key costs no query.
 */
export function createAuthenticator(ctx: AppContext) {
  const cache = new Map<string, { principal: Principal | null; expires: number }>();

  async function resolve(key: string): Promise<Principal | null> {
    const keyHash = hashKey(key); // once per request: the admin and the merchant checks both compare it
    if (hashesMatch(keyHash, ctx.adminKeyHash)) return { kind: 'admin' };
    const hit = cache.get(keyHash);
    const now = Date.now();
    if (hit && hit.expires > now) return hit.principal;
    const merchant = await findMerchantByKeyHash(ctx.db, keyHash);
    const principal: Principal | null =
      merchant && hashesMatch(keyHash, merchant.api_key_hash) ? { kind: 'merchant', merchantId: merchant.id } : null;
    if (cache.size >= cacheEntriesMax) cache.clear();
    cache.set(keyHash, { principal, expires: now + cacheTtlMs });
    return principal;
  }

  return async function authenticate(request: FastifyRequest): Promise<void> {
    const auth = request.routeOptions.config.auth ?? 'none';
    if (auth === 'none') return;
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer (\S{1,512})$/.exec(header) : null;
    const principal = match?.[1] ? await resolve(match[1]) : null;
    if (principal === null) throw new ClearwayError('unauthorized', 'No valid API key given: send Authorization: Bearer <key>.');
    if (auth === 'admin' && principal.kind !== 'admin') throw new ClearwayError('forbidden', 'This route needs the admin key.');
    if (auth === 'merchant' && principal.kind !== 'merchant') throw new ClearwayError('forbidden', 'This route needs a merchant key.');
    request.principal = principal;
  };
}

/** Who owns idempotency keys and rate limits for this request. */
export function ownerOf(principal: Principal | null): string {
  if (principal === null) return 'anonymous';
  return principal.kind === 'admin' ? 'admin' : principal.merchantId;
}
