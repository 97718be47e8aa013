import { beforeEach, describe, expect, it } from 'vitest';
import type { ChannelPaymentOutcome } from '../../src/channels/contract.ts';
import { ManualClock } from '../../src/kernel/clock.ts';
import { closeAbandonedPayments } from '../../src/payments/abandoned.ts';
import { lateSuccessRefundsOf, refundLateSuccesses } from '../../src/payments/late-success.ts';
import { recordAttemptOutcome } from '../../src/payments/record-outcome.ts';
import { attemptsOf } from '../../src/payments/repository.ts';
import { stores, useTestApp, type TestApp } from '../support/harness.ts';

// Late successes and abandoned payments, against the sandboxes' own books.
//
// (a) A late success, the real way it happens: a card payment whose create the channel leaves
//     `processing` (late_success_rate: 1, no webhook so the test decides when news arrives) is
//     taken as failed (the repair job's verdict on a trade it cannot find), the customer pays the
//     order with a second payment, and then the channel captures the first one after all. The
//     sandbox charged that out_trade_no for real; the late-success refund gives it back once.
//     (The wallet sandboxes refuse to charge a closed trade, so a closed QR payment cannot end
//     in a late success there: part (b) checks exactly that.)
// (b) An abandoned QR payment is closed at the channel and canceled; the order can be paid again;
//     the payer's scan after the close is refused by the sandbox. A trade paid just before the
//     close is recorded as paid instead.

describe.each(stores)('late successes and abandoned payments on %s', (store) => {
  const clock = new ManualClock(new Date());
  const suite = useTestApp(store, { clock, env: { CLEARWAY_ACTION_TTL_SECONDS: '900' } });
  let t: TestApp;
  let merchant: { id: string; key: string };
  beforeEach(() => {
    ({ t, merchant } = suite());
  });

  const ledgerRow = async (channel: string, outTradeNo: string) =>
    ((await t.request('GET', `/sandbox/${channel}/ledger`, { key: t.adminKey })).body.data as { out_trade_no: string; charged: number; refunded: number }[])
      .find((row) => row.out_trade_no === outTradeNo);
  const outboxCount = async (objectId: string, type: string) =>
    Number((await t.app.ctx.db.query<{ n: bigint }>('SELECT count(*)::bigint AS n FROM outbox_events WHERE object_id = $1 AND type = $2', [objectId, type])).rows[0]!.n);

  /** A card payment paid twice at the channel: the first payment failed for us, the second paid the order, then the first captured late. */
  async function lateSuccess(amount: number) {
    const card = t.app.sandboxes.get('card_a')!;
    card.setWebhookUrl(null);
    await t.request('POST', '/sandbox/card_a/faults', { key: t.adminKey, body: { late_success_rate: 1 } });
    const order = (await t.request('POST', '/v1/orders', { key: merchant.key, body: { currency: 'EUR', items: [{ name: 'Twice', unit_amount: amount, quantity: 1 }] } })).body;
    const first = (await t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: order.id, method: 'card', payment_method_data: { token: 'pm_card_visa' } } })).body;
    await t.request('DELETE', '/sandbox/card_a/faults', { key: t.adminKey });
    expect(first.status, JSON.stringify(first)).toBe('processing');
    const attempt = (await attemptsOf(t.app.ctx.db, [first.id])).get(first.id)![0]!;
    expect(attempt.channel).toBe('card_a');
    // The repair job's verdict on a trade the channel did not know yet: a definite failure.
    const notFound: ChannelPaymentOutcome = {
      kind: 'result', status: 'failed', channel_txn_id: null, amount: BigInt(amount), currency: 'EUR', failure_code: 'not_found', failure_message: 'no such trade', retryable_elsewhere: true, next_action: null,
    };
    expect((await recordAttemptOutcome(t.app.ctx, attempt, notFound, null)).payment.status).toBe('failed');
    expect((await t.request('GET', `/v1/orders/${order.id}`, { key: merchant.key })).body.status).toBe('pending_payment');
    const second = (await t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: order.id, method: 'card', payment_method_data: { token: 'pm_card_visa' } } })).body;
    expect(second.status).toBe('succeeded');
    expect((await t.request('GET', `/v1/orders/${order.id}`, { key: merchant.key })).body.status).toBe('paid');
    // The channel captures the first one after all; its news (here: the query) is a late success.
    let news: ChannelPaymentOutcome = { kind: 'unknown', reason: 'not asked yet' };
    for (let i = 0; i < 100 && !(news.kind === 'result' && news.status === 'succeeded'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      news = await t.app.ctx.channels.get('card_a')!.connector.queryPayment(attempt.out_trade_no, { amount: attempt.amount, currency: attempt.currency });
    }
    expect(news).toMatchObject({ kind: 'result', status: 'succeeded' });
    const recorded = await recordAttemptOutcome(t.app.ctx, attempt, news, null);
    expect(recorded.lateSuccess).toBe(true);
    expect(recorded.lateSuccessRefund).toMatchObject({ attempt_id: attempt.id, amount: BigInt(amount), status: 'pending' });
    // The same news again changes nothing and owes nothing more.
    expect((await recordAttemptOutcome(t.app.ctx, attempt, news, null)).changed).toBe(false);
    expect(await lateSuccessRefundsOf(t.app.ctx.db, first.id)).toHaveLength(1);
    expect(await ledgerRow('card_a', attempt.out_trade_no)).toEqual({ out_trade_no: attempt.out_trade_no, charged: amount, refunded: 0 });
    return { order, first, second, attempt };
  }

  it('refunds a late success on a payment paid elsewhere exactly once, and reports it', async () => {
    const { first, second, attempt } = await lateSuccess(4_200);
    expect(await outboxCount(first.id, 'payment.late_success')).toBe(1);
    expect(await refundLateSuccesses(t.app.ctx)).toBe(1);
    expect(await refundLateSuccesses(t.app.ctx)).toBe(0);
    const [row] = await lateSuccessRefundsOf(t.app.ctx.db, first.id);
    expect(row).toMatchObject({ status: 'succeeded', send_count: 1, locked_until: null });
    expect(row!.channel_refund_id).toBeTruthy();
    expect(await outboxCount(first.id, 'payment.late_success_refunded')).toBe(1);
    expect(await ledgerRow('card_a', attempt.out_trade_no)).toEqual({ out_trade_no: attempt.out_trade_no, charged: 4_200, refunded: 4_200 });
    const paid = second.attempts[0].out_trade_no;
    expect(await ledgerRow('card_a', paid)).toEqual({ out_trade_no: paid, charged: 4_200, refunded: 0 });
    const payment = (await t.request('GET', `/v1/payments/${first.id}`, { key: merchant.key })).body;
    expect(payment.status).toBe('failed');
    expect(payment.attempts[0].status).toBe('succeeded');
    const metrics = (await t.request('GET', '/metrics')).body as string;
    expect(metrics).toMatch(/clearway_late_success_refunds_total\{channel="card_a",outcome="succeeded"\} [1-9]/);
    // The ledger: captured by the channel, owed back to the payer, given back; no merchant moved.
    const entries = await t.app.ctx.db.query<{ kind: string; account_id: string; amount: bigint; merchant_id: string | null }>(
      `SELECT e.kind, p.account_id, p.amount, e.merchant_id FROM journal_entries e JOIN postings p ON p.entry_id = e.id
        WHERE e.event_id IN ($1, $2) ORDER BY e.kind, p.line`, [`late_capture:${row!.id}`, `late_refund:${row!.id}`]);
    expect(entries.rows.map((r) => [r.kind, r.account_id.split('#')[0], BigInt(r.amount), r.merchant_id])).toEqual([
      ['late_capture', 'channel_receivable:card_a:EUR', 4_200n, null], ['late_capture', 'late_success_payable:card_a:EUR', -4_200n, null],
      ['late_refund', 'late_success_payable:card_a:EUR', 4_200n, null], ['late_refund', 'channel_receivable:card_a:EUR', -4_200n, null],
    ]);
    const { rows: owed } = await t.app.ctx.db.query<{ balance: bigint }>("SELECT balance FROM ledger_accounts WHERE id = 'late_success_payable:card_a:EUR'");
    expect(BigInt(owed[0]!.balance)).toBe(0n);
    const check = (await t.request('GET', '/v1/admin/ledger/check', { key: t.adminKey })).body;
    expect(check.checks.find((c: { name: string }) => c.name === 'late_successes_booked'), JSON.stringify(check)).toMatchObject({ ok: true });
    expect(check.ok).toBe(true);
  });

  it('keeps a late-success refund pending while the channel errs, then refunds it once, whatever the number of workers', async () => {
    const { first, attempt } = await lateSuccess(4_300);
    await t.request('POST', '/sandbox/card_a/faults', { key: t.adminKey, body: { error_rate: 1 } });
    expect(await refundLateSuccesses(t.app.ctx)).toBe(1);
    await t.request('DELETE', '/sandbox/card_a/faults', { key: t.adminKey });
    const [pending] = await lateSuccessRefundsOf(t.app.ctx.db, first.id);
    expect(pending).toMatchObject({ status: 'pending', send_count: 1, locked_until: null });
    // Booked as owed to the payer from its first send, given back only once the channel refunds.
    const { rows: owed } = await t.app.ctx.db.query<{ balance: bigint }>("SELECT balance FROM ledger_accounts WHERE id = 'late_success_payable:card_a:EUR'");
    expect(BigInt(owed[0]!.balance)).toBeLessThanOrEqual(-4_300n);
    expect((await t.request('GET', '/v1/admin/ledger/check', { key: t.adminKey })).body.ok).toBe(true);
    expect(await refundLateSuccesses(t.app.ctx)).toBe(0); // not due before its retry delay
    clock.advance(31_000);
    const sent = await Promise.all([1, 2, 3, 4].map(() => refundLateSuccesses(t.app.ctx)));
    expect(sent.reduce((a, b) => a + b, 0)).toBe(1);
    expect((await lateSuccessRefundsOf(t.app.ctx.db, first.id))[0]).toMatchObject({ status: 'succeeded', send_count: 2 });
    expect(await outboxCount(first.id, 'payment.late_success_refunded')).toBe(1);
    expect(await ledgerRow('card_a', attempt.out_trade_no)).toEqual({ out_trade_no: attempt.out_trade_no, charged: 4_300, refunded: 4_300 });
  });

  for (const method of ['alipay', 'wechat_pay'] as const) {
    it(`closes an abandoned ${method} QR payment at the channel, cancels it once, and the order can be paid again`, async () => {
      const order = (await t.request('POST', '/v1/orders', { key: merchant.key, body: { currency: 'CNY', items: [{ name: 'Tea', unit_amount: 8_800, quantity: 1 }] } })).body;
      const created = (await t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: order.id, method } })).body;
      expect(created.status).toBe('requires_action');
      const attempt = created.attempts[0];
      expect(await closeAbandonedPayments(t.app.ctx)).toBe(0); // not abandoned yet
      clock.advance(901_000);
      const handled = await Promise.all([1, 2, 3].map(() => closeAbandonedPayments(t.app.ctx)));
      expect(handled.reduce((a, b) => a + b, 0)).toBe(1);
      const payment = (await t.request('GET', `/v1/payments/${created.id}`, { key: merchant.key })).body;
      expect(payment.status).toBe('canceled');
      expect(payment.failure_code).toBe('closed_abandoned');
      expect(payment.attempts[0]).toMatchObject({ status: 'failed', failure_code: 'closed_abandoned' });
      expect(await outboxCount(created.id, 'payment.canceled')).toBe(1);
      expect(await closeAbandonedPayments(t.app.ctx)).toBe(0);
      // The payer scans the closed code: the channel refuses it, nothing is charged.
      const late = await t.request('POST', `/sandbox/${attempt.channel}/pay/${attempt.out_trade_no}`, { key: t.adminKey });
      expect(late.status).toBe(404);
      expect(await ledgerRow(attempt.channel, attempt.out_trade_no)).toBeUndefined();
      // The order is payable again, and is paid.
      expect((await t.request('GET', `/v1/orders/${order.id}`, { key: merchant.key })).body.status).toBe('pending_payment');
      const again = (await t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: order.id, method } })).body;
      expect(again.status).toBe('requires_action');
      expect((await t.request('POST', `/sandbox/${attempt.channel}/pay/${again.attempts[0].out_trade_no}`, { key: t.adminKey })).status).toBe(200);
      for (let i = 0; i < 100; i++) {
        if ((await t.request('GET', `/v1/orders/${order.id}`, { key: merchant.key })).body.status === 'paid') break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect((await t.request('GET', `/v1/orders/${order.id}`, { key: merchant.key })).body.status).toBe('paid');
    });
  }

  it('records a payment paid just before the close as paid, not canceled', async () => {
    const alipay = t.app.sandboxes.get('alipay')!;
    alipay.setWebhookUrl(null); // the notification is lost: only the close and the query can tell
    try {
      const order = (await t.request('POST', '/v1/orders', { key: merchant.key, body: { currency: 'CNY', items: [{ name: 'Tea', unit_amount: 9_900, quantity: 1 }] } })).body;
      const created = (await t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: order.id, method: 'alipay' } })).body;
      const attempt = created.attempts[0];
      expect((await t.request('POST', `/sandbox/alipay/pay/${attempt.out_trade_no}`, { key: t.adminKey })).status).toBe(200);
      clock.advance(901_000);
      expect(await closeAbandonedPayments(t.app.ctx)).toBe(1);
      const payment = (await t.request('GET', `/v1/payments/${created.id}`, { key: merchant.key })).body;
      expect(payment.status).toBe('succeeded');
      expect((await t.request('GET', `/v1/orders/${order.id}`, { key: merchant.key })).body.status).toBe('paid');
      expect(await lateSuccessRefundsOf(t.app.ctx.db, created.id)).toHaveLength(0);
      expect(await ledgerRow('alipay', attempt.out_trade_no)).toEqual({ out_trade_no: attempt.out_trade_no, charged: 9_900, refunded: 0 });
    } finally {
      alipay.setWebhookUrl(`${t.url}/notify/alipay`);
    }
  });
});
