import { beforeEach, describe, expect, it } from 'vitest';
import { stores, useTestApp, type TestApp } from '../support/harness.ts';
import { ManualClock } from '../../src/kernel/clock.ts';
import { feeFor, feeSchedule } from '../../src/kernel/fees.ts';
import { limits } from '../../src/kernel/limits.ts';
import { money } from '../../src/kernel/money.ts';

// Ranking under a routing policy (src/routing/rank.ts, plan.ts): cost, recent success rate (the
// sliding window fed by every recorded outcome), risk fit, and rules holding only inside their
// time window, all read at the app clock (a ManualClock here).

/** The sandbox card channels' fee schedules (src/channels/configure.ts). */
const cardFee = { card_a: feeSchedule(180, 20n), card_b: feeSchedule(220, 25n) };
const feeOf = (channel: 'card_a' | 'card_b', amount: number) => feeFor(cardFee[channel], money(BigInt(amount), 'USD')).amount;

describe.each(stores)('routing ranking on %s', (store) => {
  // 2026-01-05 is a Monday; 04:00 UTC is 12:00 in Shanghai.
  const clock = new ManualClock('2026-01-05T04:00:00Z');
  const suite = useTestApp(store, { clock });
  let t: TestApp;
  let merchant: { id: string; key: string };
  beforeEach(async () => {
    ({ t } = suite());
    merchant = await t.newMerchant('Ranked Shop');
    // Outcomes of earlier tests leave the success window: each test starts with no recent outcome.
    clock.advance(limits.routing_success_window_ms + 1);
  });

  const putPolicy = async (body: unknown) => {
    const reply = await t.request('PUT', '/v1/routing/policy', { key: merchant.key, body });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    return reply.body;
  };
  async function pay(amount: number, extra: Record<string, unknown> = {}, token = 'pm_card_visa') {
    const order = await t.request('POST', '/v1/orders', { key: merchant.key, body: { currency: 'USD', items: [{ name: 'Kettle', unit_amount: amount, quantity: 1 }] } });
    expect(order.status).toBe(201);
    const reply = await t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: order.body.id, method: 'card', payment_method_data: { token }, ...extra } });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    return reply.body;
  }

  it('applies a rule only inside its time window, read at the app clock in the rule\'s zone', async () => {
    clock.set('2026-01-05T04:00:00Z'); // Monday 12:00 in Shanghai
    const rules = [
      { method: 'card', hours: { from: '22:00', to: '06:00', time_zone: 'Asia/Shanghai' }, days: ['mon', 'tue'], prefer: ['card_b'] },
      { method: 'card', prefer: ['card_a'], rank_by: ['preference', 'cost'] },
    ];
    expect(await putPolicy({ rules })).toMatchObject({ version: 1, rules });
    expect((await t.request('GET', '/v1/routing/policy', { key: merchant.key })).body).toMatchObject({ version: 1, rules });
    const noon = await pay(3_000);
    expect(noon.channel).toBe('card_a');
    expect(noon.attempts[0].routing_reason).toBe('policy v1: rule #2 (card any currency) for card USD 3000: card_a rank 1 of 2 by preference (rule prefers card_a)');
    clock.set('2026-01-05T14:30:00Z'); // Monday 22:30 in Shanghai
    const night = await pay(3_000);
    expect(night.channel).toBe('card_b');
    expect(night.attempts[0].routing_reason).toBe('policy v1: rule #1 (card any currency 22:00-06:00 Asia/Shanghai mon,tue) for card USD 3000: card_b rank 1 of 2 by preference (rule prefers card_b)');
    clock.set('2026-01-05T21:59:00Z'); // Tuesday 05:59
    expect((await pay(3_000)).channel).toBe('card_b');
    clock.set('2026-01-05T22:00:00Z'); // Tuesday 06:00: the window has ended
    expect((await pay(3_000)).channel).toBe('card_a');
    clock.set('2026-01-07T14:30:00Z'); // Wednesday 22:30: inside the hours, not one of the days
    expect((await pay(3_000)).channel).toBe('card_a');
  });

  it('prefers the cheaper channel when the rule ranks by cost, over its own prefer list and the customer\'s choice', async () => {
    await putPolicy({ rules: [{ method: 'card', prefer: ['card_b'] }] });
    expect((await pay(10_000)).channel).toBe('card_b'); // preference first by default
    await putPolicy({ rules: [{ method: 'card', prefer: ['card_b'], rank_by: ['cost'] }] });
    const cheaper = await pay(10_000);
    expect(cheaper.channel).toBe('card_a');
    expect(feeOf('card_a', 10_000)).toBeLessThan(feeOf('card_b', 10_000));
    expect(cheaper.attempts[0].routing_reason).toBe(`policy v2: rule #1 (card any currency) for card USD 10000: card_a rank 1 of 2 by cost (card_a fee ${feeOf('card_a', 10_000)} < card_b ${feeOf('card_b', 10_000)})`);
    expect((await pay(10_000, { preferred_channel: 'card_b' })).channel).toBe('card_a');
    // The payment's channel fee, booked at capture, is the one routing compared.
    const { rows } = await t.app.ctx.db.query<{ channel_fee_amount: bigint }>('SELECT channel_fee_amount FROM payments WHERE id = $1', [cheaper.id]);
    expect(BigInt(rows[0]!.channel_fee_amount)).toBe(feeOf('card_a', 10_000));
  });

  it('lets a channel with failures in the success window fall behind, and back once they age out', async () => {
    await putPolicy({ rules: [{ method: 'card', rank_by: ['success_rate', 'cost'], prefer: [] }] });
    expect((await pay(4_000)).channel).toBe('card_a'); // no recent outcomes: cost decides
    // Declines on card_a (insufficient funds is not retried elsewhere): its success rate collapses.
    // With the one success above, samples_min outcomes are in the window after samples_min - 1 declines.
    for (let i = 0; i < limits.routing_success_samples_min - 1; i++) {
      const declined = await pay(4_000 + i, {}, 'pm_card_chargeDeclinedInsufficientFunds');
      expect(declined).toMatchObject({ status: 'failed', channel: 'card_a' });
    }
    const moved = await pay(4_100);
    expect(moved.channel).toBe('card_b');
    expect(moved.attempts[0].routing_reason).toBe('policy v1: rule #1 (card any currency) for card USD 4100: card_b rank 1 of 2 by success_rate (card_b no data (0 outcome(s)) > card_a 20% of 5)');
    // Other methods' windows are their own, and without success_rate first, cost still decides.
    await putPolicy({ rules: [{ method: 'card', rank_by: ['cost', 'success_rate'], prefer: [] }] });
    expect((await pay(4_200)).channel).toBe('card_a');
    await putPolicy({ rules: [{ method: 'card', rank_by: ['success_rate', 'cost'], prefer: [] }] });
    clock.advance(limits.routing_success_window_ms + 1);
    expect((await pay(4_300)).channel).toBe('card_a');
  });

  it('sends a payment in risk review to the channel doing strong customer authentication when the rule ranks by risk fit', async () => {
    const rules = await t.request('PUT', '/v1/risk/rules', { key: merchant.key, body: { thresholds: { review: 30, decline: 80 } } });
    expect(rules.status).toBe(200);
    await putPolicy({ rules: [{ method: 'card', rank_by: ['risk_fit', 'cost'], prefer: [] }] });
    const approved = await pay(6_000, { customer: { country: 'US' } });
    expect(approved.risk.decision).toBe('approve');
    expect(approved.channel).toBe('card_a');
    const review = await pay(6_000, { customer: { country: 'DE' } }); // USD from Germany: currency/country mismatch
    expect(review.risk).toMatchObject({ decision: 'review', reasons: ['currency_country_mismatch'] });
    expect(review.channel).toBe('card_b');
    expect(review.attempts[0].routing_reason).toBe('policy v1: rule #1 (card any currency) for card USD 6000: card_b rank 1 of 2 by risk_fit (review risk: card_b does strong customer authentication, card_a does not)');
  });
});
