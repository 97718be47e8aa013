import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ClearwayError } from '../kernel/errors.ts';
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
    const now = ctx.clock.now();
    const lease = new Date(now.getTime() + inFlightLeaseMs);
    const inserted = await ctx.db.query(
      `INSERT INTO idempotency_keys (owner, key, request_hash, state, locked_until, created_at)
       VALUES ($1, $2, $3, 'in_flight', $4, $5) ON CONFLICT (owner, key) DO NOTHING`,
      [owner, key, hash, lease, now],
    );
    if (inserted.rowCount === 1) {
      request.idempotency = { owner, key, settled: false };
      return undefined;
    }
    const { rows } = await ctx.db.query<StoredKey>(
      'SELECT request_hash, state, response_status, response_body, locked_until FROM idempotency_keys WHERE owner = $1 AND key = $2',
      [owner, key],
    );
    const stored = rows[0];
    if (!stored) return claim(request, reply); // expired and deleted in between: try again
    if (stored.request_hash !== hash) {
      throw new ClearwayError('idempotency_key_reused', 'This Idempotency-Key was already used with a different request.', { param: 'Idempotency-Key' });
    }
    if (stored.state === 'done') {
      return reply
        .code(stored.response_status ?? 200)
        .header('idempotent-replayed', 'true')
        .type('application/json')
        .send(stored.response_body ?? '');
    }
    const takenOver = await ctx.db.query(
      `UPDATE idempotency_keys SET locked_until = $3 WHERE owner = $1 AND key = $2 AND state = 'in_flight' AND locked_until < $4`,
      [owner, key, lease, now],
    );
    if (takenOver.rowCount !== 1) throw new ClearwayError('idempotency_key_in_use');
    request.idempotency = { owner, key, settled: false };
    return undefined;
  }

  /** Stores the first response; a 5xx releases the key so the client may retry. */
  async function settle(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<void> {
    const held = request.idempotency;
    if (held === null || held.settled) return;
    held.settled = true;
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
