// The chaos test (issue 3, item 10a), on the PostgreSQL server. Thousands of customers pay
// through the real HTTP API, on all four channels (card_a, card_b, alipay, wechat_pay), while
// every sandbox errs (30%), times out (10%: the work is done, the answer lost), succeeds late and
// sends duplicate notifications, and a relay between the sandboxes and /notify delays, reorders
// and replays notifications. card_a (every card payment's preferred channel) goes down for a
// while, and so does wechat_pay (the cashier then offers Alipay). Wallet payers complete most QR
// codes at the sandbox and abandon the rest; merchants refund some payments in full or in part.
// Before the storm, a dozen card creates are held by card_b longer than Clearway waits: the repair
// job takes them as failed, the orders are paid again, and card_b then charges them anyway (late
// successes, to be refunded automatically). Then the storm calms and the system settles with its
// own workers' functions (repair, abandoned-payment closing, late-success refunds), with the
// clock moved forward for their staleness rules, until nothing moves.
//
// The oracle is the sandboxes' own books against Clearway's rows (./oracle.ts): every payment is
// final or provably waiting on its channel; no out_trade_no charged twice; no payment keeps money
// on two attempts; every succeeded payment's money is in exactly one book, for its amount (less
// the merchant refunds, each made once); failed and canceled payments kept nothing; orders are paid
// exactly when a payment succeeded. Plus: the
// circuits opened and closed, card payments went to card_b while card_a was down, no 5xx, every
// genuine notification accepted, and the double-entry ledger whole. Invariants, never exact counts:
// the sandboxes' dice are their own (Math.random), only the customers' choices are seeded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultState } from '../../sandbox/stripe/faults.ts';
import type { Clock } from '../../src/kernel/clock.ts';
import { checkLedger } from '../../src/ledger/check.ts';
import { closeAbandonedPayments } from '../../src/payments/abandoned.ts';
import { refundLateSuccesses } from '../../src/payments/late-success.ts';
import { repairAttempts, repairRefunds } from '../../src/payments/repair.ts';
import { startTestApp, type Reply, type TestApp } from '../support/harness.ts';
import { startNotificationRelay, type NotificationRelay } from './notification-relay.ts';
import { auditBooks, finalPaymentStatuses, type AttemptRecord, type LedgerRow, type OrderRecord, type PaymentRecord, type RefundRecord } from './oracle.ts';

const seed = Number(process.env.CHAOS_SEED ?? 20_260_101);
/** Orders; customers who retry a failed payment add payments on top. */
const ordersPlanned = 2_000;
const customersConcurrent = 192;
const halfOpenMs = 1_000;
const channels = ['card_a', 'card_b', 'alipay', 'wechat_pay'] as const;
type ChannelId = (typeof channels)[number];
const storm = { error_rate: 0.3, timeout_rate: 0.1, late_success_rate: 0.1, duplicate_notify_rate: 0.2 };
/** While the system settles, the channels still err for the first rounds (no more timeouts: the sweeps query one by one). */
const aftershock = { error_rate: 0.3, timeout_rate: 0, late_success_rate: 0.5, duplicate_notify_rate: 0.2 };
/**
 * Creates stuck in the network: card_b holds them (latency fault) longer than Clearway waits, the
 * repair job takes "not found" for a failure once they are a minute old (by the clock), the
 * customers pay their orders again, and then card_b processes the creates after all: each is a
 * late success on a failed payment whose order is paid, to be refunded automatically.
 */
const lostCreates = 12;
const lostCreateDelayMs = 20_000;
const aftershockRounds = 2;
const settleRoundsMax = 10;
/** The workers' staleness rules (docs/payments.md): repair asks after a minute; abandoned after CLEARWAY_ACTION_TTL_SECONDS. */
const repairStaleMs = 60_000;
const actionTtlSeconds = 900;
/** Outage windows, as shares of the orders dispatched. */
const outages: readonly { channel: ChannelId; from: number; to: number }[] = [
  { channel: 'card_a', from: 0.25, to: 0.65 },
  { channel: 'wechat_pay', from: 0.35, to: 0.6 },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** mulberry32: small, seeded, good enough to pick customers' behaviour. */
function seeded(start: number): () => number {
  let state = start >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Real time plus an offset the test moves forward (the workers' staleness rules read it). */
class MovingClock implements Clock {
  private offset_ms = 0;
  now(): Date {
    return new Date(Date.now() + this.offset_ms);
  }
  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error('MovingClock.advance: ms must be >= 0');
    this.offset_ms += ms;
  }
}

type Method = 'card' | 'alipay' | 'wechat_pay';

interface CustomerPlan {
  readonly index: number;
  readonly method: Method;
  readonly currency: string;
  readonly amount: number;
  readonly token: string;
  readonly preferred_channel: ChannelId | null;
  readonly payer: 'pay' | 'abandon';
  readonly payer_delay_ms: number;
  readonly double_pay: boolean;
  readonly retry_on_failure: boolean;
  readonly replay_check: boolean;
  /** The merchant refunds the payment once it succeeded: in full, in part, or not. */
  readonly refund: 'none' | 'full' | 'partial';
}

const cardTokens: readonly [string, number][] = [
  ['pm_card_visa', 0.72], ['pm_card_mastercard', 0.08], ['pm_card_chargeDeclined', 0.06],
  ['pm_card_chargeDeclinedInsufficientFunds', 0.04], ['pm_card_chargeDeclinedProcessingError', 0.1], // safe to retry elsewhere: fails over
];
const cardCurrencies = ['USD', 'EUR', 'GBP', 'JPY'];

function pick<T>(random: () => number, weighted: readonly [T, number][]): T {
  let draw = random();
  for (const [value, weight] of weighted) {
    if (draw < weight) return value;
    draw -= weight;
  }
  return weighted[weighted.length - 1]![0];
}

function planCustomer(random: () => number, index: number): CustomerPlan {
  const method = pick<Method>(random, [['card', 0.55], ['alipay', 0.22], ['wechat_pay', 0.23]]);
  const card = method === 'card';
  return {
    index, method,
    currency: card ? cardCurrencies[Math.floor(random() * cardCurrencies.length)]! : 'CNY',
    amount: card ? 50 + Math.floor(random() * 50_000) : 1 + Math.floor(random() * 20_000),
    token: card ? pick(random, cardTokens) : '',
    preferred_channel: card ? 'card_a' : null,
    payer: random() < 0.85 ? 'pay' : 'abandon',
    payer_delay_ms: Math.floor(random() * 150),
    double_pay: random() < 0.05,
    retry_on_failure: random() < 0.4,
    replay_check: random() < 0.03,
    refund: pick(random, [['none', 0.85], ['full', 0.05], ['partial', 0.1]]),
  };
}

interface SentPayment {
  readonly id: string;
  readonly order_id: string;
  readonly method: Method;
  readonly sent_at: number;
  readonly answered_at: number;
  readonly status: string;
}

interface Window {
  start: number;
  end: number;
  transitionsAtStart: Map<string, number>;
  transitionsAtEnd: Map<string, number>;
}

type Metric = { name: string; labels: Record<string, string>; value: number };

function parseMetrics(text: string): Metric[] {
  const metrics: Metric[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[label[1]!] = label[2]!;
    metrics.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return metrics;
}

/** Sums of a metric grouped by some of its labels, as `a/b/c -> value`. */
function grouped(metrics: readonly Metric[], name: string, by: readonly string[], where: Record<string, string> = {}): Map<string, number> {
  const sums = new Map<string, number>();
  for (const metric of metrics) {
    if (metric.name !== name || Object.entries(where).some(([k, v]) => metric.labels[k] !== v)) continue;
    const key = by.map((label) => metric.labels[label] ?? '-').join('/');
    sums.set(key, (sums.get(key) ?? 0) + metric.value);
  }
  return sums;
}

function increment<K>(map: Map<K, number>, key: K, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

const table = (map: ReadonlyMap<string, number>) => [...map].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join('  ') || '(none)';

// PGlite has no real concurrency (DESIGN.md): this runs on the PostgreSQL server only, which `npm test` starts.
describe.skipIf(!process.env.TEST_DATABASE_URL)('chaos: payments on every channel through errors, timeouts, late successes, duplicates and outages (PostgreSQL)', () => {
  const clock = new MovingClock();
  const random = seeded(seed);
  let t: TestApp;
  let merchant: { id: string; key: string };
  let relay: NotificationRelay;
  /** Faults the sandboxes injected, counted where they roll their dice (test-only instrumentation). */
  const injected = new Map<string, number>();
  const originalRoll = FaultState.prototype.roll;

  beforeAll(async () => {
    FaultState.prototype.roll = function roll(this: FaultState, name: Parameters<FaultState['roll']>[0]): boolean {
      const hit = originalRoll.call(this, name);
      if (hit) increment(injected, name);
      return hit;
    };
    t = await startTestApp('postgres', {
      clock,
      env: { CLEARWAY_CIRCUIT_HALF_OPEN_MS: String(halfOpenMs), CLEARWAY_ACTION_TTL_SECONDS: String(actionTtlSeconds) },
    });
    merchant = await t.newMerchant('Chaos Shop');
    relay = await startNotificationRelay({
      target: t.url, random: seeded(seed ^ 0x5eed), delay_ms_max: 300, replay_rate: 0.1, replay_delay_ms_min: 300, replay_delay_ms_max: 1_500,
    });
    for (const channel of channels) t.app.sandboxes.get(channel)!.setWebhookUrl(`${relay.url}/notify/${channel}`);
  });

  afterAll(async () => {
    FaultState.prototype.roll = originalRoll;
    await relay?.close();
    await t?.close();
  });

  // ---- the client side: customers, the cashier, payers -------------------------------------

  const sent: SentPayment[] = [];
  const httpProblems: string[] = [];
  const httpStatuses = new Map<string, number>();
  const behaviour = new Map<string, number>();
  const abandoned: { channel: string; out_trade_no: string }[] = [];
  /** Refunds the merchant means to make once the payment has succeeded (wallets succeed by notification, later). */
  const refundsLater: { payment_id: string; amount: number; refund: 'full' | 'partial' }[] = [];

  async function api<T = any>(method: string, path: string, expected: readonly number[], options: { key?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply<T>> {
    const reply = await t.request<T>(method, path, { key: options.key ?? merchant.key, ...(options.body === undefined ? {} : { body: options.body }), ...(options.headers ? { headers: options.headers } : {}) });
    const route = path.replace(/\/(ord|pay|att)_[A-Za-z0-9]+/g, '/:id').replace(/\/pay\/[^/]+$/, '/pay/:out_trade_no');
    increment(httpStatuses, `${method} ${route} ${reply.status}`);
    if (!expected.includes(reply.status)) httpProblems.push(`${method} ${path} -> ${reply.status} ${JSON.stringify(reply.body).slice(0, 400)}`);
    return reply;
  }

  async function setFaults(channel: string, faults: Record<string, unknown> | null): Promise<void> {
    if (faults === null) await api('DELETE', `/sandbox/${channel}/faults`, [200], { key: t.adminKey });
    else await api('POST', `/sandbox/${channel}/faults`, [200], { key: t.adminKey, body: faults });
  }

  async function metrics(): Promise<Metric[]> {
    return parseMetrics((await api<string>('GET', '/metrics', [200])).body);
  }

  const transitions = async () => grouped(await metrics(), 'clearway_channel_circuit_transitions_total', ['channel', 'from', 'to']);

  /** The cashier greys out a wallet whose circuit is open; the customer then takes the other wallet, as a payments team would offer. */
  async function cashierWallet(orderId: string, wanted: 'alipay' | 'wechat_pay'): Promise<Method> {
    const reply = await api<{ data: { method: string; available: boolean; reason?: string }[] }>('GET', `/v1/orders/${orderId}/payment_methods`, [200]);
    const available = (method: string) => reply.body.data?.find((m) => m.method === method)?.available === true;
    if (available(wanted)) return wanted;
    const other = wanted === 'alipay' ? 'wechat_pay' : 'alipay';
    increment(behaviour, `cashier greyed out ${wanted}`);
    if (!available(other)) return wanted;
    increment(behaviour, `fell back from ${wanted} to ${other}`);
    return other;
  }

  async function payer(plan: CustomerPlan, payment: any): Promise<void> {
    const attempt = payment.attempts[payment.attempts.length - 1];
    if (plan.payer === 'abandon') {
      increment(behaviour, 'payer abandoned the QR code');
      abandoned.push({ channel: attempt.channel, out_trade_no: attempt.out_trade_no });
      return;
    }
    await sleep(plan.payer_delay_ms);
    await api('POST', `/sandbox/${attempt.channel}/pay/${attempt.out_trade_no}`, [200], { key: t.adminKey });
    increment(behaviour, 'payer paid the QR code');
    if (plan.double_pay) {
      // Scanned twice: WeChat Pay answers the repeat as paid, Alipay refuses a paid trade; never a second charge.
      await api('POST', `/sandbox/${attempt.channel}/pay/${attempt.out_trade_no}`, [200, 404], { key: t.adminKey });
      increment(behaviour, 'payer paid twice');
    }
  }

  async function pay(plan: CustomerPlan, orderId: string, method: Method, token: string, key: string, replay: boolean): Promise<any | null> {
    const body = {
      order_id: orderId, method,
      ...(method === 'card' ? { payment_method_data: { token }, ...(plan.preferred_channel ? { preferred_channel: plan.preferred_channel } : {}) } : {}),
    };
    const sent_at = performance.now();
    const reply = await api('POST', '/v1/payments', [201], { body, headers: { 'idempotency-key': key } });
    const answered_at = performance.now();
    if (reply.status !== 201) return null;
    sent.push({ id: reply.body.id, order_id: orderId, method, sent_at, answered_at, status: reply.body.status });
    if (replay) {
      const again = await api('POST', '/v1/payments', [201], { body, headers: { 'idempotency-key': key } });
      if (again.headers.get('idempotent-replayed') !== 'true' || again.body?.id !== reply.body.id) httpProblems.push(`replay of ${key} did not answer the first response`);
      increment(behaviour, 'idempotent replays');
    }
    return reply.body;
  }

  /** A merchant refund, sent during the storm (cards that succeeded at once) or when the system settles. */
  async function merchantRefund(paymentId: string, amount: number, kind: 'full' | 'partial'): Promise<void> {
    const body = kind === 'partial' && amount > 1 ? { amount: Math.floor(amount / 3) || 1 } : {};
    const reply = await api('POST', `/v1/payments/${paymentId}/refunds`, [201], { body });
    increment(behaviour, `merchant refund ${kind}: ${reply.body?.status ?? reply.status}`);
  }

  async function customer(plan: CustomerPlan): Promise<void> {
    const order = await api('POST', '/v1/orders', [201], { body: { currency: plan.currency, items: [{ name: `chaos #${plan.index}`, unit_amount: plan.amount, quantity: 1 }] } });
    if (order.status !== 201) return;
    for (let tryNumber = 0; tryNumber < 2; tryNumber++) {
      const method = plan.method === 'card' ? 'card' : await cashierWallet(order.body.id, plan.method);
      const token = tryNumber === 0 ? plan.token : 'pm_card_visa';
      const payment = await pay(plan, order.body.id, method, token, `chaos-${seed}-${plan.index}-${tryNumber}`, plan.replay_check && tryNumber === 0);
      if (payment === null) return;
      if (payment.status === 'requires_action') await payer(plan, payment);
      if (plan.refund !== 'none' && payment.status === 'succeeded') await merchantRefund(payment.id, payment.amount, plan.refund);
      else if (plan.refund !== 'none' && payment.status !== 'failed') refundsLater.push({ payment_id: payment.id, amount: payment.amount, refund: plan.refund });
      if (payment.status !== 'failed' || !plan.retry_on_failure) return;
      increment(behaviour, 'customer retried a failed payment');
    }
  }

  // ---- the storm ---------------------------------------------------------------------------

  const windows = new Map<ChannelId, Window>();

  async function storming(): Promise<void> {
    for (const channel of channels) await setFaults(channel, storm);
    const plans = Array.from({ length: ordersPlanned }, (_, index) => planCustomer(random, index));
    const triggers = new Map<number, () => Promise<void>>();
    for (const outage of outages) {
      triggers.set(Math.floor(ordersPlanned * outage.from), async () => {
        const window: Window = { start: performance.now(), end: Infinity, transitionsAtStart: await transitions(), transitionsAtEnd: new Map() };
        windows.set(outage.channel, window);
        await setFaults(outage.channel, { outage: true });
        window.start = performance.now();
      });
      triggers.set(Math.floor(ordersPlanned * outage.to), async () => {
        const window = windows.get(outage.channel)!;
        window.end = performance.now();
        window.transitionsAtEnd = await transitions(); // still down: no close can slip in before the snapshot
        await setFaults(outage.channel, { outage: false });
      });
    }
    let next = 0;
    await Promise.all(Array.from({ length: customersConcurrent }, async () => {
      while (next < plans.length) {
        const index = next++;
        await triggers.get(index)?.();
        await customer(plans[index]!);
      }
    }));
  }

  /**
   * Before the storm: `lostCreates` card payments whose creates card_b holds for lostCreateDelayMs.
   * Clearway times out (unknown), asks (not found, too soon to conclude), and the repair job, once
   * the attempts are a minute old, takes "not found" as a failure; the customers then pay their
   * orders again on card_a. The held creates are processed by card_b during the storm.
   */
  let lostCreatesLandAt = 0;
  async function createsLostInTheNetwork(): Promise<{ failed: number; repaid: number }> {
    await setFaults('card_b', { latency_ms: lostCreateDelayMs });
    const plans = Array.from({ length: lostCreates }, (_, i): CustomerPlan => ({
      index: 900_000 + i, method: 'card', currency: 'EUR', amount: 4_200 + i, token: 'pm_card_visa', preferred_channel: 'card_b',
      payer: 'pay', payer_delay_ms: 0, double_pay: false, retry_on_failure: false, replay_check: false, refund: 'none',
    }));
    const first = sent.length;
    const journeys = Promise.all(plans.map((plan) => customer(plan)));
    for (const deadline = Date.now() + 10_000; ;) {
      const { rows } = await t.app.ctx.db.query<{ n: bigint }>("SELECT count(*)::bigint AS n FROM attempts WHERE channel = 'card_b'");
      if (Number(rows[0]!.n) === lostCreates) break;
      if (Date.now() > deadline) throw new Error('the lost creates were never sent');
      await sleep(20);
    }
    await sleep(300); // on the wire to card_b, where each waits out the latency it found on arrival
    lostCreatesLandAt = performance.now() + lostCreateDelayMs;
    await setFaults('card_b', null);
    await journeys;
    const lost = sent.slice(first).filter((s) => s.status === 'processing');
    clock.advance(repairStaleMs + 1_000);
    await untilQuiet(() => repairAttempts(t.app.ctx, { staleAfterMs: repairStaleMs }), 2);
    let failed = 0;
    let repaid = 0;
    for (const payment of lost) {
      const now = (await api('GET', `/v1/payments/${payment.id}`, [200])).body;
      if (now.status !== 'failed') continue;
      failed += 1;
      const plan = { ...plans[0]!, preferred_channel: 'card_a' as const };
      if ((await pay(plan, payment.order_id, 'card', 'pm_card_visa', `chaos-${seed}-lost-${payment.id}`, false))?.status === 'succeeded') repaid += 1;
    }
    return { failed, repaid };
  }

  /** After the storm, every circuit is brought back to closed by real payments (trial calls once half-open). */
  async function closeCircuits(): Promise<void> {
    for (const channel of channels) await setFaults(channel, null);
    for (const channel of channels) {
      const deadline = Date.now() + 10 * halfOpenMs;
      let index = 1_000_000 + channels.indexOf(channel) * 1_000;
      while (t.app.ctx.channels.get(channel)!.circuitState() !== 'closed') {
        if (Date.now() > deadline) throw new Error(`${channel}'s circuit did not close after the storm`);
        if (t.app.ctx.channels.get(channel)!.circuitState() === 'open') {
          await sleep(50);
          continue;
        }
        const card = channel === 'card_a' || channel === 'card_b';
        await customer({
          index: index++, method: card ? 'card' : channel, currency: card ? 'USD' : 'CNY', amount: 1_000, token: 'pm_card_visa',
          preferred_channel: card ? channel : null, payer: 'pay', payer_delay_ms: 0, double_pay: false, retry_on_failure: false, replay_check: false, refund: 'none',
        });
        increment(behaviour, 'payments sent to close a circuit');
      }
    }
  }

  // ---- settling ----------------------------------------------------------------------------

  function notificationsPending(): number {
    let pending = 0;
    for (const sandbox of t.app.sandboxes.values()) {
      const s = sandbox as unknown as { webhookStats?: () => { pending: number }; notifyStats?: () => { pending: number } };
      pending += s.webhookStats?.().pending ?? s.notifyStats?.().pending ?? 0;
    }
    return pending;
  }

  /** Waits for late successes to fire and every notification (sandbox retries, relay delays and replays) to land. */
  async function drainNotifications(): Promise<void> {
    await sleep(400); // the sandboxes' late successes come 250 ms after the payment
    const deadline = Date.now() + 30_000;
    for (let quiet = 0; quiet < 3;) {
      if (Date.now() > deadline) throw new Error(`notifications never drained: ${notificationsPending()} pending at the sandboxes`);
      await relay.idle(Math.max(deadline - Date.now(), 1));
      quiet = notificationsPending() === 0 ? quiet + 1 : 0;
      await sleep(50);
    }
  }

  /** Runs a worker sweep in `parallel` loops (as several processes would) until it finds nothing; returns the rows it handled. */
  async function untilQuiet(sweep: () => Promise<number>, parallel: number): Promise<number> {
    const counts = await Promise.all(Array.from({ length: parallel }, async () => {
      let handled = 0;
      for (let n = await sweep(); n > 0; n = await sweep()) handled += n;
      return handled;
    }));
    return counts.reduce((a, b) => a + b, 0);
  }

  async function stateOfThings(): Promise<{ key: string; live: number; pendingRefunds: number }> {
    const { rows } = await t.app.ctx.db.query<{ what: string; status: string; n: bigint }>(
      `SELECT 'payment' AS what, status, count(*)::bigint AS n FROM payments GROUP BY status
       UNION ALL SELECT 'attempt', status, count(*)::bigint FROM attempts GROUP BY status
       UNION ALL SELECT 'late_success_refund', status, count(*)::bigint FROM late_success_refunds GROUP BY status
       UNION ALL SELECT 'refund', status, count(*)::bigint FROM refunds GROUP BY status
       UNION ALL SELECT 'order', status, count(*)::bigint FROM orders GROUP BY status ORDER BY 1, 2`,
    );
    const count = (what: string, statuses: readonly string[]) => rows.filter((r) => r.what === what && statuses.includes(r.status)).reduce((n, r) => n + Number(r.n), 0);
    return {
      key: rows.map((r) => `${r.what}:${r.status}=${r.n}`).join(' '),
      live: count('payment', ['processing', 'requires_action']),
      pendingRefunds: count('late_success_refund', ['pending']) + count('refund', ['pending']),
    };
  }

  /** How far to move the clock so that every pending late-success refund is due (at least past the repair staleness). */
  async function nextAdvanceMs(): Promise<number> {
    const { rows } = await t.app.ctx.db.query<{ due: Date | null }>("SELECT max(next_attempt_at) AS due FROM late_success_refunds WHERE status = 'pending'");
    const due = rows[0]?.due ? new Date(rows[0].due).getTime() - clock.now().getTime() : 0;
    return Math.max(repairStaleMs + 1_000, due + 1_000);
  }

  /** Some payers come back to a QR code they had left, just as the abandoned-payment job closes it. */
  async function payersRacingTheClose(): Promise<void> {
    const late = abandoned.filter((_, i) => i % 3 === 0);
    await Promise.all(late.map(async ({ channel, out_trade_no }) => {
      const reply = await api('POST', `/sandbox/${channel}/pay/${out_trade_no}`, [200, 404], { key: t.adminKey });
      increment(behaviour, reply.status === 200 ? 'late payer paid before the close' : 'late payer refused: trade closed');
    }));
  }

  const settleLog: string[] = [];

  /** The refunds customers asked for on payments that succeeded after their first answer (QR codes paid, late successes). */
  async function refundWave(): Promise<void> {
    const { rows } = await t.app.ctx.db.query<{ id: string }>("SELECT id FROM payments WHERE status = 'succeeded' AND id = ANY($1::text[])", [refundsLater.map((r) => r.payment_id)]);
    const succeeded = new Set(rows.map((r) => r.id));
    await Promise.all(refundsLater.filter((r) => succeeded.has(r.payment_id)).map((r) => merchantRefund(r.payment_id, r.amount, r.refund)));
  }

  async function settle(): Promise<number> {
    await sleep(Math.max(0, lostCreatesLandAt + 1_000 - performance.now())); // the storm outlasts it: normally no wait
    let previous = '';
    for (let round = 1; round <= settleRoundsMax; round++) {
      for (const channel of channels) await setFaults(channel, round <= aftershockRounds ? aftershock : null);
      if (round === 1) await refundWave();
      await drainNotifications(); // before the clock jumps: a signature older than 5 minutes is refused, rightly
      clock.advance(round === 1 ? actionTtlSeconds * 1_000 + 1_000 : await nextAdvanceMs());
      const repaired = await untilQuiet(() => repairAttempts(t.app.ctx, { staleAfterMs: repairStaleMs }), 3);
      const resent = await untilQuiet(() => repairRefunds(t.app.ctx, { staleAfterMs: repairStaleMs }), 2);
      const [closed] = await Promise.all([untilQuiet(() => closeAbandonedPayments(t.app.ctx), 2), round === 1 ? payersRacingTheClose() : Promise.resolve()]);
      await drainNotifications();
      const refunded = await untilQuiet(() => refundLateSuccesses(t.app.ctx), 2);
      await drainNotifications();
      const state = await stateOfThings();
      settleLog.push(`round ${round}: repaired ${repaired} attempts and ${resent} refunds, abandoned handled ${closed}, late-success refunds sent ${refunded} -> ${state.key}`);
      const calm = round > aftershockRounds;
      if (calm && state.live === 0 && state.pendingRefunds === 0) return round;
      if (calm && state.key === previous) return round; // nothing moves any more: what is left must prove it is waiting
      previous = state.key;
    }
    return settleRoundsMax;
  }

  // ---- the books ---------------------------------------------------------------------------

  async function readBooks() {
    const db = t.app.ctx.db;
    const payments = (await db.query<any>('SELECT id, order_id, status, method, channel, amount, amount_captured, amount_refunded, failure_code FROM payments')).rows
      .map((r): PaymentRecord & { failure_code: string | null } => ({ ...r, amount: Number(r.amount), amount_captured: Number(r.amount_captured), amount_refunded: Number(r.amount_refunded) }));
    const attempts = (await db.query<any>('SELECT id, payment_id, channel, status, out_trade_no, amount, currency FROM attempts')).rows
      .map((r): AttemptRecord & { currency: string } => ({ ...r, amount: Number(r.amount) }));
    const orders = (await db.query<any>('SELECT id, status, amount_total, amount_refunded FROM orders')).rows
      .map((r): OrderRecord => ({ ...r, amount_total: Number(r.amount_total), amount_refunded: Number(r.amount_refunded) }));
    const refunds = (await db.query<any>('SELECT id, payment_id, status, amount FROM refunds')).rows.map((r): RefundRecord => ({ ...r, amount: Number(r.amount) }));
    const lateSuccessRefunds = (await db.query<any>('SELECT attempt_id, channel, status, amount FROM late_success_refunds')).rows.map((r) => ({ ...r, amount: Number(r.amount) }));
    const ledgers = new Map<string, LedgerRow[]>();
    for (const channel of channels) ledgers.set(channel, (await api<{ data: LedgerRow[] }>('GET', `/sandbox/${channel}/ledger`, [200], { key: t.adminKey })).body.data);
    return { payments, attempts, orders, lateSuccessRefunds, refunds, ledgers };
  }

  it(`drives ${ordersPlanned} orders through the storm and settles with nobody charged twice`, async () => {
    const started = performance.now();
    const lost = await createsLostInTheNetwork();
    const stormStarted = performance.now();
    await storming();
    const lostSeconds = (stormStarted - started) / 1000;
    const stormSeconds = (performance.now() - stormStarted) / 1000;
    await closeCircuits();
    const rounds = await settle();
    const books = await readBooks();
    const audit = auditBooks(books);

    // Payments not final must be provably waiting: their attempt is open and the channel itself says so.
    const proof = new Map<string, number>();
    const ledgerByTradeNo = new Map([...books.ledgers.values()].flat().map((row) => [row.out_trade_no, row]));
    for (const { payment, attempt } of audit.waiting) {
      if (!attempt) {
        audit.violations.push(`payment ${payment.id} is ${payment.status} with no open attempt`);
        continue;
      }
      const full = books.attempts.find((a) => a.id === attempt.id)!;
      const said = await t.app.ctx.channels.get(attempt.channel)!.connector.queryPayment(attempt.out_trade_no, { amount: BigInt(attempt.amount), currency: full.currency });
      const open = said.kind === 'result' && (said.status === 'requires_action' || said.status === 'pending');
      if (!open || (ledgerByTradeNo.get(attempt.out_trade_no)?.charged ?? 0) !== 0) {
        audit.violations.push(`payment ${payment.id} is ${payment.status} (attempt ${attempt.status}) but ${attempt.channel} says ${JSON.stringify(said, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`);
      } else increment(proof, `${attempt.channel} ${said.status}`);
    }

    // Traffic moved: card payments made while card_a was down went to card_b, and none charged on card_a.
    const cardA = windows.get('card_a')!;
    const paymentsById = new Map(books.payments.map((p) => [p.id, p]));
    const during = sent.filter((s) => s.method === 'card' && s.sent_at > cardA.start && s.answered_at < cardA.end);
    const duringIds = new Set(during.map((s) => s.id));
    const onBackup = during.filter((s) => paymentsById.get(s.id)?.status === 'succeeded' && paymentsById.get(s.id)?.channel === 'card_b').length;
    const chargedOnDownChannel = books.attempts.filter((a) => duringIds.has(a.payment_id) && a.channel === 'card_a' && (ledgerByTradeNo.get(a.out_trade_no)?.charged ?? 0) > 0);
    const attemptsDuring = new Map<string, number>();
    for (const a of books.attempts) if (duringIds.has(a.payment_id)) increment(attemptsDuring, `${a.channel} ${a.status}`);

    const finalMetrics = await metrics();
    const finalTransitions = grouped(finalMetrics, 'clearway_channel_circuit_transitions_total', ['channel', 'from', 'to']);
    const delta = (after: Map<string, number>, before: Map<string, number>, match: (key: string) => boolean) =>
      [...after].filter(([k]) => match(k)).reduce((n, [k, v]) => n + v - (before.get(k) ?? 0), 0);
    const opensDuringOutage = (channel: ChannelId) => {
      const w = windows.get(channel)!;
      return delta(w.transitionsAtEnd, w.transitionsAtStart, (k) => k.startsWith(`${channel}/`) && k.endsWith('/open'));
    };
    const cardAClosedAfterOutage = delta(finalTransitions, cardA.transitionsAtEnd, (k) => k === 'card_a/half_open/closed');
    const notifications = grouped(finalMetrics, 'clearway_channel_notifications_total', ['channel', 'verdict']);
    const relayStats = relay.stats();
    const ledgerCheck = await checkLedger(t.app.ctx.db);

    const byStatusChannel = new Map<string, number>();
    for (const p of books.payments) increment(byStatusChannel, `${p.status}/${p.channel ?? '-'}`);
    const failures = new Map<string, number>();
    for (const p of books.payments) if (p.status !== 'succeeded') increment(failures, `${p.method}/${p.status}/${p.failure_code ?? '-'}`);
    const byMethod = new Map<string, number>();
    for (const p of books.payments) increment(byMethod, `${p.method}/${p.status}`);
    const attemptsByChannel = new Map<string, number>();
    for (const a of books.attempts) increment(attemptsByChannel, `${a.channel}/${a.status}`);
    const lsrByChannel = new Map<string, number>();
    for (const r of books.lateSuccessRefunds) increment(lsrByChannel, `${r.channel}/${r.status}`);
    const refundsByStatus = new Map<string, number>();
    for (const r of books.refunds) increment(refundsByStatus, r.status);
    const ordersByStatus = new Map<string, number>();
    for (const o of books.orders) increment(ordersByStatus, o.status);
    const relayAnswers = new Map(Object.entries(relayStats.answers).flatMap(([channel, statuses]) => Object.entries(statuses).map(([status, n]) => [`${channel}/${status}`, n] as const)));
    const seconds = (performance.now() - started) / 1000;

    console.log([
      `chaos (seed ${seed}): ${books.payments.length} payments on ${books.orders.length} orders, ${books.attempts.length} attempts; lost creates ${lostSeconds.toFixed(1)} s, storm ${stormSeconds.toFixed(1)} s, total ${seconds.toFixed(1)} s, settled in ${rounds} round(s)`,
      `payments by status/channel: ${table(byStatusChannel)}`,
      `payments by method/status:  ${table(byMethod)}`,
      `payments not succeeded, by method/status/failure_code: ${table(failures)}`,
      `attempts by channel/status: ${table(attemptsByChannel)}`,
      `orders by status: ${table(ordersByStatus)}`,
      `faults injected by the sandboxes (storm and aftershock): ${table(injected)}; outages: ${[...windows].map(([c, w]) => `${c} ${((w.end - w.start) / 1000).toFixed(1)} s`).join(', ')}`,
      `create outcomes seen by Clearway: ${table(grouped(finalMetrics, 'clearway_channel_call_duration_seconds_count', ['channel', 'outcome'], { flow: 'create' }))}`,
      `circuit transitions: ${table(finalTransitions)}`,
      `calls refused before leaving: ${table(grouped(finalMetrics, 'clearway_channel_calls_rejected_total', ['channel', 'flow', 'reason']))}`,
      `card_a outage: ${during.length} card payments made inside it, ${onBackup} succeeded on card_b; their attempts: ${table(attemptsDuring)}; card_a opened ${opensDuringOutage('card_a')}x during it, closed ${cardAClosedAfterOutage}x after`,
      `wechat_pay outage: opened ${opensDuringOutage('wechat_pay')}x during it`,
      `creates lost in the network: ${lostCreates} held by card_b, ${lost.failed} taken as failed by the repair job, ${lost.repaid} orders paid again on card_a`,
      `late-success refunds: ${table(lsrByChannel)}; metric: ${table(grouped(finalMetrics, 'clearway_late_success_refunds_total', ['channel', 'outcome']))}`,
      `merchant refunds: ${table(refundsByStatus)} (the channels' books agree with each payment's amount_refunded)`,
      `abandoned payments: ${table(grouped(finalMetrics, 'clearway_abandoned_payments_total', ['channel', 'outcome']))}`,
      `duplicates: ${injected.get('duplicate_notify_rate') ?? 0} notifications sent twice by the sandboxes, ${relayStats.replayed} replayed out of order by the relay; Clearway answered ${[...notifications].filter(([k]) => k.endsWith('/duplicate')).reduce((n, [, v]) => n + v, 0)} as duplicates without a change`,
      `notifications seen by Clearway: ${table(notifications)}`,
      `relay: ${relayStats.received} notifications delayed and reordered, ${relayStats.replayed} replayed later; answers: ${table(relayAnswers)}; transport errors ${relayStats.transport_errors}`,
      `customers: ${table(behaviour)}`,
      `provably waiting: ${table(proof)}`,
      `ledger check: ${ledgerCheck.checks.map((c) => `${c.name} ${c.ok ? 'ok' : 'FAILED'} (${c.detail})`).join('; ')}`,
      `HTTP: ${table(httpStatuses)}`,
      ...settleLog,
      ...(audit.violations.length ? [`VIOLATIONS (${audit.violations.length}):`, ...audit.violations.slice(0, 40)] : ['violations: none']),
      ...(httpProblems.length ? [`HTTP PROBLEMS (${httpProblems.length}):`, ...httpProblems.slice(0, 20)] : []),
    ].join('\n'));

    // Enough traffic, and the books agree: nothing charged twice, nothing kept that should not be.
    expect(books.payments.length).toBeGreaterThanOrEqual(ordersPlanned);
    expect(new Set(books.payments.map((p) => p.channel)).size).toBeGreaterThanOrEqual(channels.length);
    expect(audit.violations.slice(0, 40)).toEqual([]);
    expect(books.payments.filter((p) => !finalPaymentStatuses.has(p.status)).length).toBe([...proof.values()].reduce((a, b) => a + b, 0));
    // No 5xx, no unexpected answer, and every genuine notification accepted (replays and reorderings included).
    expect(httpProblems.slice(0, 20)).toEqual([]);
    expect([...relayAnswers].filter(([key]) => !/\/2\d\d$/.test(key))).toEqual([]);
    expect(relayStats.transport_errors).toBe(0);
    expect([...notifications].filter(([key]) => /\/(rejected|mismatch)$/.test(key))).toEqual([]);
    expect(relayStats.received).toBeGreaterThan(0);
    expect(relayStats.replayed).toBeGreaterThan(0);
    expect(injected.get('error_rate') ?? 0).toBeGreaterThan(0);
    expect(injected.get('timeout_rate') ?? 0).toBeGreaterThan(0);
    expect(injected.get('late_success_rate') ?? 0).toBeGreaterThan(0);
    expect(injected.get('duplicate_notify_rate') ?? 0).toBeGreaterThan(0);
    // The circuits opened during the outages and closed again; card payments moved to card_b, and none was charged on card_a while it was down.
    expect(opensDuringOutage('card_a')).toBeGreaterThan(0);
    expect(opensDuringOutage('wechat_pay')).toBeGreaterThan(0);
    expect(cardAClosedAfterOutage).toBeGreaterThan(0);
    for (const channel of channels) expect(t.app.ctx.channels.get(channel)!.circuitState()).toBe('closed');
    // Traffic moved: card payments inside the outage were sent to card_b. Whether card_b, itself in
    // the storm, took any of them is chance (its own breaker may be open for the whole window:
    // one run had 487 attempts on card_b and none succeeded), so the success count is reported, not asserted.
    expect([...attemptsDuring].filter(([key]) => key.startsWith('card_b ')).reduce((sum, [, n]) => sum + n, 0)).toBeGreaterThan(0);
    expect(chargedOnDownChannel.map((a) => a.out_trade_no)).toEqual([]);
    expect(behaviour.get('fell back from wechat_pay to alipay') ?? 0).toBeGreaterThan(0);
    // Late successes were refunded in full, automatically (the oracle checked each one against the books).
    expect(lost.failed).toBeGreaterThan(0);
    expect(books.lateSuccessRefunds.length).toBeGreaterThan(0);
    expect(audit.refundedLateSuccesses).toBe(books.lateSuccessRefunds.length);
    expect(refundsByStatus.get('succeeded') ?? 0).toBeGreaterThan(0);
    expect(ledgerCheck.ok).toBe(true);
  }, 300_000);
});
