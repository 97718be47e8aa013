import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { stores, useTestApp, type TestApp } from '../support/harness.ts';
import { feeFor, feeSchedule } from '../../src/kernel/fees.ts';
import { money } from '../../src/kernel/money.ts';

// Routing policies (src/routing/policy.ts): versioned per merchant through the API, applied by
// planChannels (prefer, exclude, amount ranges, ranking), and an A/B experiment split by a stable
// hash of the payment id, reported per arm (count, success rate, channel fees, latency).
// Ranking by recent success rate and time windows: routing-ranking.test.ts.

/** The sandbox card channels' fee schedules (src/channels/configure.ts). */
const cardFee = { card_a: feeSchedule(180, 20n), card_b: feeSchedule(220, 25n) };
const feeOf = (channel: 'card_a' | 'card_b', amount: number) => Number(feeFor(cardFee[channel], money(BigInt(amount), 'USD')).amount);

/** The documented split: sha256(payment id), first 4 bytes mod 100 < percent_b means arm b. */
const expectedArm = (paymentId: string, percentB: number) => (createHash('sha256').update(paymentId).digest().readUInt32BE(0) % 100 < percentB ? 'b' : 'a');

describe.each(stores)('routing policies on %s', (store) => {
  const suite = useTestApp(store);
  let t: TestApp;
  let merchant: { id: string; key: string };
  beforeEach(async () => {
    ({ t } = suite());
    merchant = await t.newMerchant('Routed Shop'); // policies are per merchant: each test starts without one
  });

  const putPolicy = (body: unknown, key = merchant.key) => t.request('PUT', '/v1/routing/policy', { key, body });
  async function orderAndPay(amount = 2_500, key = merchant.key) {
    const order = await t.request('POST', '/v1/orders', { key, body: { currency: 'USD', items: [{ name: 'Lamp', unit_amount: amount, quantity: 1 }] } });
    expect(order.status).toBe(201);
    const reply = await t.request('POST', '/v1/payments', { key, body: { order_id: order.body.id, method: 'card', payment_method_data: { token: 'pm_card_visa' } } });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    return reply.body;
  }

  it('serves version 0 without a policy, then versions each PUT', async () => {
    const none = await t.request('GET', '/v1/routing/policy', { key: merchant.key });
    expect(none.status).toBe(200);
    expect(none.body).toEqual({ object: 'routing_policy', version: 0, updated_at: null, rules: [], experiment: null });
    const first = await putPolicy({ rules: [{ method: 'card', currency: 'usd', prefer: ['card_b'] }] });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ version: 1, rules: [{ method: 'card', currency: 'USD', prefer: ['card_b'] }], experiment: null });
    expect((await putPolicy({ rules: [] })).body.version).toBe(2);
    expect((await t.request('GET', '/v1/routing/policy', { key: merchant.key })).body).toMatchObject({ version: 2, rules: [] });
    const { rows } = await t.app.ctx.db.query<{ id: string }>('SELECT id FROM routing_policies WHERE merchant_id = $1 ORDER BY version', [merchant.id]);
    expect(rows.map((r) => r.id)).toEqual([expect.stringMatching(/^rtp_/), expect.stringMatching(/^rtp_/)]);
  });

  it('routes card payments to the preferred channel and says why', async () => {
    expect((await orderAndPay()).attempts[0].channel).toBe('card_a');
    await putPolicy({ rules: [{ method: 'card', currency: 'USD', amount_min: 0, amount_max: 100_000, prefer: ['card_b'] }] });
    const paid = await orderAndPay();
    expect(paid.status).toBe('succeeded');
    expect(paid.channel).toBe('card_b');
    expect(paid.attempts[0].channel).toBe('card_b');
    expect(paid.attempts[0].routing_reason).toBe('policy v1: rule #1 (card USD 0..100000) for card USD 2500: card_b rank 1 of 2 by preference (rule prefers card_b)');
    const { rows } = await t.app.ctx.db.query<{ routing_policy_version: number; routing_arm: string | null }>('SELECT routing_policy_version, routing_arm FROM payments WHERE id = $1', [paid.id]);
    expect(rows[0]).toEqual({ routing_policy_version: 1, routing_arm: null });
  });

  it('drops excluded channels and applies the first rule whose amount range matches', async () => {
    await putPolicy({
      rules: [
        { method: 'card', amount_min: 10_000, prefer: [], exclude: ['card_a'] },
        { method: 'card', amount_max: 9_999, prefer: ['card_a', 'card_b'] },
      ],
    });
    const big = await orderAndPay(20_000);
    expect(big.attempts[0].channel).toBe('card_b');
    expect(big.attempts[0].routing_reason).toBe('policy v1: rule #1 (card any currency 10000..max), excluding card_a, for card USD 20000: card_b rank 1 of 1 as the only candidate');
    const small = await orderAndPay(5_000);
    expect(small.attempts[0].channel).toBe('card_a');
    expect(small.attempts[0].routing_reason).toBe('policy v1: rule #2 (card any currency 0..9999) for card USD 5000: card_a rank 1 of 2 by preference (rule prefers card_a)');
    // No rule matches another method: the default criteria rank (cost decides here), and the reason says so.
    await putPolicy({ rules: [{ method: 'alipay', prefer: ['alipay'] }] });
    const other = await orderAndPay(5_000);
    expect(other.attempts[0].channel).toBe('card_a');
    expect(other.attempts[0].routing_reason).toBe(`policy v2: no rule matched for card USD 5000: card_a rank 1 of 2 by cost (card_a fee ${feeOf('card_a', 5_000)} < card_b ${feeOf('card_b', 5_000)})`);
  });

  it('validates the policy, naming the param, and keeps the version', async () => {
    const rule = { prefer: ['card_b'] };
    const cases: [unknown, string, string][] = [
      [{}, 'missing_param', 'rules'],
      [{ rules: [{ method: 'card' }] }, 'missing_param', 'rules[0].prefer'],
      [{ rules: [{ ...rule, method: 'cash' }] }, 'invalid_param', 'rules[0].method'],
      [{ rules: [{ ...rule, amount_min: -1 }] }, 'invalid_param', 'rules[0].amount_min'],
      [{ rules: [{ ...rule, amount_min: 500, amount_max: 100 }] }, 'invalid_param', 'rules[0].amount_min'],
      [{ rules: [rule, { prefer: ['card_a', 'card_z'] }] }, 'invalid_param', 'rules[1].prefer[1]'],
      [{ rules: [{ prefer: [], exclude: ['nope'] }] }, 'invalid_param', 'rules[0].exclude[0]'],
      [{ rules: [{ prefer: ['card_b'], exclude: ['card_b'] }] }, 'invalid_param', 'rules[0].prefer[0]'],
      [{ rules: [{ ...rule, currency: 'XXX' }] }, 'unsupported_currency', 'rules[0].currency'],
      [{ rules: [{ ...rule, colour: 'red' }] }, 'unknown_param', 'rules[0].colour'],
      [{ rules: [], experiment: { percent_b: 101, rules_b: [] } }, 'invalid_param', 'experiment.percent_b'],
      [{ rules: [], experiment: { percent_b: 50, rules_b: [{ prefer: ['card_q'] }] } }, 'invalid_param', 'experiment.rules_b[0].prefer[0]'],
      [{ rules: [{ ...rule, rank_by: ['speed'] }] }, 'invalid_param', 'rules[0].rank_by[0]'],
      [{ rules: [{ ...rule, hours: { from: '22:00', to: '06:00', time_zone: 'Mars/Olympus_Mons' } }] }, 'unsupported_time_zone', 'rules[0].hours.time_zone'],
      [{ rules: [rule, { ...rule, hours: { from: '08:00', to: '08:00' } }] }, 'time_window_empty', 'rules[1].hours.to'],
      [{ rules: [{ ...rule, hours: { from: '24:00', to: '06:00' } }] }, 'invalid_param', 'rules[0].hours.from'],
      [{ rules: [{ ...rule, hours: { from: '22:00' } }] }, 'missing_param', 'rules[0].hours.to'],
      [{ rules: [{ ...rule, days: ['someday'] }] }, 'invalid_param', 'rules[0].days[0]'],
      [{ rules: [], experiment: { percent_b: 5, rules_b: [{ ...rule, hours: { from: '01:00', to: '02:00', time_zone: 'Asia/Nowhere' } }] } }, 'unsupported_time_zone', 'experiment.rules_b[0].hours.time_zone'],
    ];
    for (const [body, code, param] of cases) {
      const reply = await putPolicy(body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.error, JSON.stringify(body)).toMatchObject({ code, param });
    }
    expect((await t.request('GET', '/v1/routing/policy', { key: merchant.key })).body.version).toBe(0);
  });

  it('keeps each merchant\'s policy to itself', async () => {
    const other = await t.newMerchant('Other Shop');
    await putPolicy({ rules: [{ prefer: ['card_b'] }] });
    expect((await t.request('GET', '/v1/routing/policy', { key: other.key })).body).toMatchObject({ version: 0, rules: [] });
    const theirs = await orderAndPay(2_500, other.key);
    expect(theirs.attempts[0].channel).toBe('card_a');
    expect(theirs.attempts[0].routing_reason).toMatch(/^default ranking for card USD 2500: card_a rank 1 of 2 by cost/);
    expect((await orderAndPay()).attempts[0].channel).toBe('card_b');
    expect((await t.request('GET', '/v1/routing/experiment', { key: other.key })).body).toMatchObject({ policy_version: 0, percent_b: null, arms: [{ arm: 'a', count: 0, cost: [], latency_ms: null }, { arm: 'b', count: 0, cost: [], latency_ms: null }] });
  });

  it('splits an experiment by a stable hash of the payment id and reports each arm', async () => {
    const put = await putPolicy({ rules: [{ method: 'card', prefer: ['card_a'] }], experiment: { percent_b: 50, rules_b: [{ method: 'card', prefer: ['card_b'] }] } });
    expect(put.body).toMatchObject({ version: 1, experiment: { percent_b: 50, rules_b: [{ method: 'card', prefer: ['card_b'] }] } });
    const arms = { a: 0, b: 0 };
    const fees = { a: 0, b: 0 };
    for (let i = 0; i < 40; i++) {
      const paid = await orderAndPay(1_000 + i);
      const arm = expectedArm(paid.id, 50);
      arms[arm]++;
      expect(paid.status).toBe('succeeded');
      expect(paid.attempts[0].channel).toBe(arm === 'a' ? 'card_a' : 'card_b');
      expect(paid.attempts[0].routing_reason).toBe(`policy v1 arm ${arm}: rule #1 (card any currency) for card USD ${1_000 + i}: card_${arm} rank 1 of 2 by preference (rule prefers card_${arm})`);
      fees[arm] += feeOf(`card_${arm}`, 1_000 + i);
      const { rows } = await t.app.ctx.db.query<{ routing_arm: string }>('SELECT routing_arm FROM payments WHERE id = $1', [paid.id]);
      expect(rows[0]!.routing_arm).toBe(arm);
    }
    expect(arms.a).toBeGreaterThanOrEqual(8);
    expect(arms.b).toBeGreaterThanOrEqual(8);
    const report = await t.request('GET', '/v1/routing/experiment', { key: merchant.key });
    expect(report.status).toBe(200);
    // Per arm: success rate, the channel fees of its succeeded payments per currency, latency from creation to final.
    const cost = (arm: 'a' | 'b') => [{ currency: 'USD', succeeded: arms[arm], channel_fee_total: fees[arm], channel_fee_average: Math.round(fees[arm] / arms[arm]) }];
    expect(report.body).toEqual({
      object: 'routing_experiment', policy_version: 1, percent_b: 50,
      arms: [
        { arm: 'a', count: arms.a, succeeded: arms.a, success_rate: 1, cost: cost('a'), latency_ms: { count: arms.a, p50: expect.any(Number), p95: expect.any(Number) } },
        { arm: 'b', count: arms.b, succeeded: arms.b, success_rate: 1, cost: cost('b'), latency_ms: { count: arms.b, p50: expect.any(Number), p95: expect.any(Number) } },
      ],
    });
    for (const arm of report.body.arms) expect(0 <= arm.latency_ms.p50 && arm.latency_ms.p50 <= arm.latency_ms.p95 && arm.latency_ms.p95 < 10_000).toBe(true);
    // The cheaper arm (a routes to card_a) costs less per payment on average.
    expect(fees.a / arms.a).toBeLessThan(fees.b / arms.b);
    // A new version starts a new report.
    await putPolicy({ rules: [], experiment: { percent_b: 0, rules_b: [] } });
    expect((await t.request('GET', '/v1/routing/experiment', { key: merchant.key })).body).toMatchObject({ policy_version: 2, percent_b: 0, arms: [{ count: 0 }, { count: 0 }] });
  });
});
