// A batch of payment starts as one set-based statement: the guarded start of repository.ts
// (startPaymentGuarded) for N payments at once, one round trip and one commit instead of N. Each
// row of the input is one start; a start writes its request's idempotency key (when it carries a
// claim), moves its order from pending_payment to paying, and records the payment, its first
// attempt and its outbox events, each write joining the one before, so a start whose key was
// taken or whose order was not payable writes nothing, exactly as alone.
//
// Only for starts of distinct orders under distinct idempotency keys: two starts of one order
// in one statement would both see it pending_payment. Anything else is written start by start
// (`startsFitOneStatement`).
import type { Queryable } from '../db/database.ts';
import { StatementBuilder } from '../db/statement.ts';
import { assert } from '../kernel/errors.ts';
import { claimsCte, keyIdentity } from '../http/idempotency.ts';
import { outboxSetInsertSql } from '../outbox/outbox.ts';
import type { StartOutcome } from './repository.ts';
import type { StartWrite } from './start-writes.ts';

/** Whether these starts can be written by one statement (see above). */
export function startsFitOneStatement(writes: readonly StartWrite[]): boolean {
  const orders = new Set(writes.map((write) => write.order.id));
  const claims = writes.flatMap((write) => (write.claim ? [keyIdentity(write.claim.owner, write.claim.key)] : []));
  return orders.size === writes.length && new Set(claims).size === claims.length;
}

/** Writes the starts that hold, all in one statement; says, per start, whether it started and whether its key was written. */
export async function startPaymentsSet(db: Queryable, writes: readonly StartWrite[]): Promise<StartOutcome[]> {
  assert(startsFitOneStatement(writes), 'startPaymentsSet: distinct orders and idempotency keys');
  const s = new StatementBuilder();
  const input = [
    s.column(writes, 'text', (w) => w.order.id), s.column(writes, 'text', (w) => w.order.merchant_id),
    s.column(writes, 'text', (w) => w.payment.id), s.column(writes, 'bigint', (w) => w.payment.amount),
    s.column(writes, 'text', (w) => w.payment.currency), s.column(writes, 'text', (w) => w.payment.method),
    s.column(writes, 'text', (w) => w.payment.channel), s.column(writes, 'text', (w) => JSON.stringify(w.payment.risk)),
    s.column(writes, 'text', (w) => JSON.stringify(w.payment.payment_method_data)), s.column(writes, 'integer', (w) => w.routing.policy_version),
    s.column(writes, 'text', (w) => w.routing.arm), s.column(writes, 'text', (w) => w.attempt.id),
    s.column(writes, 'text', (w) => w.attempt.merchant_id), s.column(writes, 'text', (w) => w.attempt.channel),
    s.column(writes, 'text', (w) => w.attempt.out_trade_no), s.column(writes, 'bigint', (w) => w.attempt.amount),
    s.column(writes, 'text', (w) => w.attempt.currency), s.column(writes, 'text', (w) => w.attempt.routing_reason),
    s.column(writes, 'timestamptz', (w) => w.now),
    s.column(writes, 'text', (w) => w.claim?.owner ?? null), s.column(writes, 'text', (w) => w.claim?.key ?? null),
  ];
  const claims = claimsCte(s, writes.map((write) => (write.claim ? { held: write.claim, response: null } : null)));
  const events = writes.flatMap((write) => write.events.map((event) => ({ event, now: write.now, key: write.payment.id })));
  const sql = `WITH input AS (
      SELECT * FROM unnest(${input.join(', ')}) AS i(order_id, merchant_id, payment_id, amount, currency, method, channel, risk, payment_method_data,
        policy_version, arm, attempt_id, attempt_merchant_id, attempt_channel, out_trade_no, attempt_amount, attempt_currency, routing_reason, now,
        claim_owner, claim_key)),
    ${claims},
    order_update AS (
      UPDATE orders o SET status = 'paying', version = o.version + 1, updated_at = i.now
      FROM input i
      WHERE o.id = i.order_id AND o.merchant_id = i.merchant_id AND o.status = 'pending_payment'
        AND (i.claim_owner IS NULL OR EXISTS (SELECT 1 FROM idempotency_claim c WHERE c.owner = i.claim_owner AND c.key = i.claim_key))
      RETURNING o.id),
    payment_insert AS (
      INSERT INTO payments (id, merchant_id, order_id, status, amount, currency, method, channel, risk, payment_method_data, routing_policy_version, routing_arm, created_at, updated_at)
      SELECT i.payment_id, i.merchant_id, i.order_id, 'processing', i.amount, i.currency, i.method, i.channel, i.risk::jsonb, i.payment_method_data::jsonb,
        i.policy_version, i.arm, i.now, i.now
      FROM input i JOIN order_update u ON u.id = i.order_id RETURNING id),
    attempt_insert AS (
      INSERT INTO attempts (id, payment_id, merchant_id, channel, status, out_trade_no, amount, currency, routing_reason, created_at, updated_at)
      SELECT i.attempt_id, i.payment_id, i.attempt_merchant_id, i.attempt_channel, 'created', i.out_trade_no, i.attempt_amount, i.attempt_currency,
        i.routing_reason, i.now, i.now
      FROM input i JOIN payment_insert p ON p.id = i.payment_id RETURNING 1),
    outbox AS (${outboxSetInsertSql(s, events, 'payment_insert', 'id')})
    SELECT (SELECT coalesce(array_agg(id), '{}') FROM payment_insert) AS started,
      (SELECT coalesce(json_agg(json_build_array(owner, key)), '[]') FROM idempotency_claim) AS claimed,
      clearway_assert((SELECT count(*) FROM attempt_insert) = (SELECT count(*) FROM payment_insert), ${s.bind('every started payment has its first attempt')}),
      (SELECT count(*) FROM outbox) AS events`;
  // Rows found by key only: one cached plan on the keyed lane (Database.keyed), per call elsewhere.
  const { rows } = await db.query<{ started: string[]; claimed: [string, string][] }>(sql, s.params, { plan: 'keyed' });
  const started = new Set(rows[0]?.started ?? []);
  const claimed = new Set((rows[0]?.claimed ?? []).map(([owner, key]) => keyIdentity(owner, key)));
  return writes.map((write) => ({
    started: started.has(write.payment.id),
    claimed: write.claim !== null && claimed.has(keyIdentity(write.claim.owner, write.claim.key)),
  }));
}
