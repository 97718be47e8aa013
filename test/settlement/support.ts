// Settlement fixtures: succeeded payments and refunds as the ledger wiring books them (a row in
// payments/refunds with its fees, and the capture/refund journal entry posted at the time of
// success), written directly so a test controls every timestamp.
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import type { Database } from '../../src/db/database.ts';
import { ManualClock } from '../../src/kernel/clock.ts';
import { newId } from '../../src/kernel/ids.ts';
import { money } from '../../src/kernel/money.ts';
import { captureEntry, refundEntry } from '../../src/ledger/domain/entries.ts';
import { postEntry } from '../../src/ledger/journal.ts';
import type { SettlementDeps } from '../../src/settlement/service.ts';
import { platformDefaultSchedule } from '../../src/settlement/settings.ts';

export interface Captured {
  readonly paymentId: string;
  readonly attemptId: string;
  readonly merchantId: string;
  readonly currency: string;
  readonly gross: bigint;
  readonly fee: bigint;
}

export async function insertMerchant(db: Database, merchantId = newId('merchant')): Promise<string> {
  await db.query('INSERT INTO merchants (id, name, api_key_hash, api_key_last4, created_at) VALUES ($1, $2, $3, $4, now())', [
    merchantId, 'Settlement Shop', randomBytes(16).toString('hex'), 'abcd',
  ]);
  return merchantId;
}

/** A payment that succeeded at `at`: its rows, and its capture entry posted at `at`. */
export async function capture(db: Database, merchantId: string, at: string, gross: bigint, fee: bigint, currency = 'USD'): Promise<Captured> {
  const orderId = newId('order');
  const paymentId = newId('payment');
  const attemptId = newId('attempt');
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO orders (id, merchant_id, status, currency, items, amount_subtotal, amount_discount, amount_total, pricing_log, expires_at, created_at, updated_at)
       VALUES ($1, $2, 'paid', $3, '[]', $4, 0, $4, '[]', $5, $5, $5)`,
      [orderId, merchantId, currency, gross.toString(), at],
    );
    await tx.query(
      `INSERT INTO payments (id, merchant_id, order_id, status, amount, currency, method, channel, amount_captured, risk, fee_amount, channel_fee_amount, created_at, updated_at)
       VALUES ($1, $2, $3, 'succeeded', $4, $5, 'card', 'card_a', $4, '{}', $6, 0, $7, $7)`,
      [paymentId, merchantId, orderId, gross.toString(), currency, fee.toString(), at],
    );
    await tx.query(
      `INSERT INTO attempts (id, payment_id, merchant_id, channel, status, out_trade_no, amount, currency, routing_reason, created_at, updated_at)
       VALUES ($1, $2, $3, 'card_a', 'succeeded', $1, $4, $5, 'test', $6, $6)`,
      [attemptId, paymentId, merchantId, gross.toString(), currency, at],
    );
    const posted = await postEntry(tx, captureEntry({ eventId: `capture:${paymentId}`, merchantId, channel: 'card_a', gross: money(gross, currency), fee: money(fee, currency) }), { clock: new ManualClock(at) });
    if (!posted.ok) throw new Error(`capture did not post: ${posted.rejection}`);
  });
  return { paymentId, attemptId, merchantId, currency, gross, fee };
}

/** A refund of `amount` that succeeded at `at` (fee returned in proportion). */
export async function refund(db: Database, payment: Captured, at: string, amount: bigint, refundedBefore = 0n): Promise<{ refundId: string; feeReturned: bigint }> {
  const refundId = newId('refund');
  const { currency } = payment;
  const built = refundEntry({
    eventId: `refund:${refundId}`, merchantId: payment.merchantId, channel: 'card_a', gross: money(payment.gross, currency), fee: money(payment.fee, currency),
    refundedBefore: money(refundedBefore, currency), refund: money(amount, currency), feePolicy: 'proportional', merchantAccount: 'merchant_pending',
  });
  if (!built.ok) throw new Error(built.rejection);
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO refunds (id, merchant_id, payment_id, attempt_id, amount, currency, status, fee_returned, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'succeeded', $7, $8, $8)`,
      [refundId, payment.merchantId, payment.paymentId, payment.attemptId, amount.toString(), currency, built.feeReturned.amount.toString(), at],
    );
    await tx.query('UPDATE payments SET amount_refunded = amount_refunded + $2 WHERE id = $1', [payment.paymentId, amount.toString()]);
    const posted = await postEntry(tx, built.entry, { clock: new ManualClock(at) });
    if (!posted.ok) throw new Error(`refund did not post: ${posted.rejection}`);
  });
  return { refundId, feeReturned: built.feeReturned.amount };
}

export function settlementDeps(db: Database, clock: ManualClock): SettlementDeps {
  return { db, clock, logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), defaultSchedule: platformDefaultSchedule };
}
