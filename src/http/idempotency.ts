import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { assert, ClearwayError } from '../kernel/errors.ts';
import type { StatementBuilder } from '../db/statement.ts';
import { limits } from '../kernel/limits.ts';
import { ownerOf } from './auth.ts';
import type { AppContext } from './context.ts';

// Idempotency exactly as API.md says: the first response is stored and replayed with
// `Idempotent-Replayed: true`; the same key with another body is 422; while the first request
// still runs, 409. A key whose holder died is taken over once its lease ran out.

const inFlightLeaseMs = 60_000;

function requestHash(request: FastifyRequest): string {
  return createHash('sha256')
    .update(`${request.method} ${request.routeOptions.url ?? request.url}\n${request.url}\n${JSON.stringify(request.body ?? null)}`)
    .digest('hex');
}

interface StoredKey {
  request_hash: string;
  state: 'in_flight' | 'done';
  response_status: number | null;
  response_body: string | null;
  locked_until: Date;
}

/**
 * A key held by a request. On a route that claims with its first write (route config
 * `idempotency: 'with_first_write'`), the claim is not written up front: `deferred` carries it
 * until the route's first statement writes it together with its own rows (claimCte), saving a
 * statement and a commit. Until it is written, the request has changed nothing.
 */
export interface HeldKey {
  readonly owner: string;
  readonly key: string;
  settled: boolean;
  deferred: DeferredClaim | null;
}

export interface DeferredClaim {
  readonly hash: string;
  readonly lease: Date;
  readonly now: Date;
  /** Set by the route once the statement holding the claim committed it. */
  written: boolean;
}

/**
 * Claims a key now: a new key is taken (in flight); a key already answered replays its response;
 * another request's body is 422, a live in-flight key 409, an in-flight key whose lease ran out
 * is taken over. Says whether the request was answered here (a replay). (Not the reply itself:
 * a reply is thenable, so an async function returning it would resolve to what the reply resolves to.)
 */
async function claimKey(ctx: AppContext, request: FastifyRequest, reply: FastifyReply, owner: string, key: string, hash: string): Promise<'claimed' | 'replayed'> {
  const now = ctx.clock.now();
  const lease = new Date(now.getTime() + inFlightLeaseMs);
  const inserted = await ctx.db.query(
    `INSERT INTO idempotency_keys (owner, key, request_hash, state, locked_until, created_at)
     VALUES ($1, $2, $3, 'in_flight', $4, $5) ON CONFLICT (owner, key) DO NOTHING`,
    [owner, key, hash, lease, now],
  );
  if (inserted.rowCount === 1) {
    request.idempotency = { owner, key, settled: false, deferred: null };
    return 'claimed';
  }
  const { rows } = await ctx.db.query<StoredKey>(
    'SELECT request_hash, state, response_status, response_body, locked_until FROM idempotency_keys WHERE owner = $1 AND key = $2',
    [owner, key],
  );
  const stored = rows[0];
  if (!stored) return claimKey(ctx, request, reply, owner, key, hash); // expired and deleted in between: try again
  if (stored.request_hash !== hash) {
    throw new ClearwayError('idempotency_key_reused', 'This Idempotency-Key was already used with a different request.', { param: 'Idempotency-Key' });
  }
  if (stored.state === 'done') {
    reply
      .code(stored.response_status ?? 200)
      .header('idempotent-replayed', 'true')
      .type('application/json')
      .send(stored.response_body ?? '');
    return 'replayed';
  }
  const takenOver = await ctx.db.query(
    `UPDATE idempotency_keys SET locked_until = $3 WHERE owner = $1 AND key = $2 AND state = 'in_flight' AND locked_until < $4`,
    [owner, key, lease, now],
  );
  if (takenOver.rowCount !== 1) throw new ClearwayError('idempotency_key_in_use');
  request.idempotency = { owner, key, settled: false, deferred: null };
  return 'claimed';
}

export function createIdempotency(ctx: AppContext) {
  async function claim(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    if (request.method !== 'POST') return undefined;
    // Provider-protocol routes (sandboxes, notifications) carry no Clearway key and follow their own rules.
    if ((request.routeOptions.config.auth ?? 'none') === 'none') return undefined;
    const header = request.headers['idempotency-key'];
    if (header === undefined) return undefined;
    const key = Array.isArray(header) ? header[0] ?? '' : header;
    if (key.length < 1 || key.length > limits.idempotency_key_length_max) {
      throw new ClearwayError('invalid_param', `Idempotency-Key must be 1..${limits.idempotency_key_length_max} characters.`, { param: 'Idempotency-Key' });
    }
    const owner = ownerOf(request.principal);
    const hash = requestHash(request);
    if (request.routeOptions.config.idempotency === 'with_first_write') {
      const now = ctx.clock.now();
      request.idempotency = { owner, key, settled: false, deferred: { hash, now, lease: new Date(now.getTime() + inFlightLeaseMs), written: false } };
      return undefined;
    }
    return (await claimKey(ctx, request, reply, owner, key, hash)) === 'replayed' ? reply : undefined;
  }

  /** Stores the first response; a 5xx releases the key so the client may retry. */
  async function settle(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<void> {
    const held = request.idempotency;
    if (held === null || held.settled) return;
    held.settled = true;
    // A claim never written: the request changed nothing and holds no key (withFirstWriteClaim).
    if (held.deferred !== null && !held.deferred.written) return;
    if (reply.statusCode >= 500 || (reply.statusCode === 409 && isConcurrentUpdate(payload))) {
      await ctx.db.query('DELETE FROM idempotency_keys WHERE owner = $1 AND key = $2', [held.owner, held.key]);
      return;
    }
    await ctx.db.query(
      `UPDATE idempotency_keys SET state = 'done', response_status = $3, response_body = $4 WHERE owner = $1 AND key = $2`,
      [held.owner, held.key, reply.statusCode, typeof payload === 'string' ? payload : JSON.stringify(payload ?? null)],
    );
  }

  return { claim, settle };
}

/**
 * Runs a route that claims its key with its first write. `work` gets the held key while its claim
 * is still to be written (or null: no key, or already claimed); it writes the claim with its first
 * statement (claimCte) and sets `written`. If `work` fails before the claim was written (the key
 * is taken, the order changed, any error), nothing was written: the key is claimed the ordinary
 * way (which may replay, 422 or 409) and `work` runs again with it claimed, as any route does.
 */
export async function withFirstWriteClaim<T>(ctx: AppContext, request: FastifyRequest, reply: FastifyReply, work: (claim: HeldKey | null) => Promise<T>): Promise<T | FastifyReply> {
  const held = request.idempotency;
  const deferred = held?.deferred ?? null;
  if (held === null || deferred === null) return work(null);
  try {
    return await work(held);
  } catch (error) {
    if (deferred.written) throw error;
  }
  held.deferred = null;
  if ((await claimKey(ctx, request, reply, held.owner, held.key, deferred.hash)) === 'replayed') return reply;
  return work(null);
}

/** A deferred claim to write in a statement, answered at once with `response` when given (else in flight). */
export interface ClaimToWrite {
  readonly held: HeldKey;
  readonly response: { readonly status: number; readonly body: string } | null;
}

/** Tells two requests' keys apart: one key twice cannot be claimed by one statement. */
export function keyIdentity(owner: string, key: string): string {
  return JSON.stringify([owner, key]);
}

/**
 * The CTE `idempotency_claim` that writes deferred claims in the caller's statement (null: that
 * row of a set-based statement has none). It returns the (owner, key) of each key that was free
 * and is now written; the statement's other writes must be conditioned on it (`WHERE EXISTS
 * (SELECT 1 FROM idempotency_claim ...)`). It runs whatever the rest of the statement does.
 */
export function claimsCte(s: StatementBuilder, claims: readonly (ClaimToWrite | null)[]): string {
  const given = claims.filter((claim): claim is ClaimToWrite => claim !== null);
  const deferred = given.map(({ held }) => {
    assert(held.deferred !== null && !held.deferred.written, 'claimsCte: a deferred claim not written yet');
    return held.deferred;
  });
  assert(new Set(given.map(({ held }) => keyIdentity(held.owner, held.key))).size === given.length, 'claimsCte: one key once');
  const rows = given.map((claim, index) => ({ claim, deferred: deferred[index]! }));
  return `idempotency_claim AS (
      INSERT INTO idempotency_keys (owner, key, request_hash, state, locked_until, created_at, response_status, response_body)
      SELECT * FROM unnest(${s.column(rows, 'text', (r) => r.claim.held.owner)}, ${s.column(rows, 'text', (r) => r.claim.held.key)},
        ${s.column(rows, 'text', (r) => r.deferred.hash)}, ${s.column(rows, 'text', (r) => (r.claim.response ? 'done' : 'in_flight'))},
        ${s.column(rows, 'timestamptz', (r) => r.deferred.lease)}, ${s.column(rows, 'timestamptz', (r) => r.deferred.now)},
        ${s.column(rows, 'integer', (r) => r.claim.response?.status ?? null)}, ${s.column(rows, 'text', (r) => r.claim.response?.body ?? null)})
      ON CONFLICT (owner, key) DO NOTHING RETURNING owner, key)`;
}

/** claimsCte for one request's key (a statement of one row). */
export function claimCte(s: StatementBuilder, held: HeldKey, response: ClaimToWrite['response']): string {
  return claimsCte(s, [{ held, response }]);
}

/** Thrown by a route whose claiming statement wrote nothing: withFirstWriteClaim claims the key the ordinary way. */
export class ClaimNotWritten extends Error {
  constructor(what: string) {
    super(`${what}: nothing written under the idempotency key`);
  }
}

/** A 409 concurrent_update asks the client to retry: the key is released, not kept. */
function isConcurrentUpdate(payload: unknown): boolean {
  return typeof payload === 'string' && payload.includes('"concurrent_update"');
}

/** Deletes keys older than the retention (run by a worker). */
export async function purgeIdempotencyKeys(ctx: AppContext, batchMax = 1000): Promise<number> {
  const cutoff = new Date(ctx.clock.now().getTime() - limits.idempotency_retention_ms);
  const result = await ctx.db.query(
    `DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys WHERE created_at < $1 LIMIT $2)`,
    [cutoff, batchMax],
  );
  return result.rowCount;
}
