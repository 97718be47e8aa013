// Runs one generated scenario against a real Clearway (HTTP API, PostgreSQL server, channel and
// bank sandboxes), feeds what each answer says into the independent model (model.ts), and then
// compares the ledger, the settlement batches, the ledger check and the sandboxes' and banks' own
// books with the model. Every difference is collected; any makes the run throw, so fast-check
// shrinks the scenario and prints it.
import { ManualClock } from '../../src/kernel/clock.ts';
import { account, isAccountType } from '../../src/ledger/domain/accounts.ts';
import { accountBalance } from '../../src/ledger/journal.ts';
import { pollBankStatusFiles, submitPayouts } from '../../src/payouts/worker.ts';
import type { PayoutBanks } from '../../src/payouts/configure.ts';
import { startTestApp, type Reply, type TestApp } from '../support/harness.ts';
import { fastBanks } from '../payouts/support.ts';
import { MoneyModel, schedules, type ModelPayment, type PricingRuleSpec, type SettleOutcome } from './model.ts';
import type { AccountKind, MerchantOp, MerchantSpec, Phase, PlatformOp, Scenario } from './scenario.ts';

/** The sandbox banks' test account numbers (sandbox/shared/bank.ts, docs/payouts.md). */
const accountNumbers: Readonly<Record<AccountKind, string>> = {
  normal: 'DE1000000001',
  rejected_by_bank_api: '000111000',
  rejected_by_bank_file: '000222000',
  rejected_by_all: '000333000',
  returned: '000444000',
};

const runStart = Date.parse('2026-03-02T00:05:00Z');
const hourMs = 3_600_000;
const dayMs = 24 * hourMs;
/** How far the payout workers may move the clock on within a phase: captures stay in their phase's hour. */
const phaseDriftMsMax = 45 * 60_000;
const drainMsMax = 45_000;
const walletWaitMsMax = 10_000;
const workerLoops = 2;
const channels = ['card_a', 'card_b', 'alipay', 'wechat_pay'] as const;

export interface RunStats {
  readonly ops: Map<string, number>;
  readonly entries: Map<string, number>;
  sequences: number;
  workerRounds: number;
  failures: number;
}

export function newStats(): RunStats {
  return { ops: new Map(), entries: new Map(), sequences: 0, workerRounds: 0, failures: 0 };
}

const bump = (map: Map<string, number>, name: string, by = 1) => map.set(name, (map.get(name) ?? 0) + by);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Merchant {
  readonly index: number;
  readonly id: string;
  readonly key: string;
  readonly spec: MerchantSpec;
  rules: readonly PricingRuleSpec[];
  /** Its succeeded payments, in the order they succeeded. */
  readonly payments: ModelPayment[];
}

class Run {
  readonly problems: string[] = [];
  readonly model: MoneyModel;
  readonly merchants: Merchant[] = [];
  phaseStart = runStart;
  /** While set, the workers' clock moves on no further than this. */
  clockCap: number | null = runStart + phaseDriftMsMax;
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(readonly t: TestApp, readonly clock: ManualClock, readonly banks: PayoutBanks, readonly stats: RunStats) {
    this.model = new MoneyModel((merchant) => this.merchants.find((m) => m.id === merchant)!.spec.schedule);
  }

  problem(text: string): void {
    if (this.problems.length < 200) this.problems.push(text);
  }

  expectReply(reply: Reply, status: number, what: string): boolean {
    if (reply.status === status) return true;
    this.problem(`${what}: expected HTTP ${status}, got ${reply.status} ${JSON.stringify(reply.body)}`);
    return false;
  }

  // ---------------------------------------------------------------- set-up

  async addMerchant(spec: MerchantSpec, index: number): Promise<void> {
    const { t } = this;
    const created = await t.newMerchant(`Model Shop ${index}`);
    const merchant: Merchant = { index, id: created.id, key: created.key, spec, rules: [], payments: [] };
    if (spec.pricing !== null) await this.setPricing(merchant, spec.pricing);
    const schedule = schedules[spec.schedule];
    const settings = await t.request('PUT', '/v1/settlement_settings', { key: merchant.key, body: { time_zone: schedule.time_zone, cut_off: schedule.cut_off } });
    this.expectReply(settings, 200, `settlement settings of merchant ${index}`);
    const payout = await t.request('PUT', '/v1/payout_settings', {
      key: merchant.key,
      body: { schedule: 'manual', minimum_amount: spec.payoutMinimum, currency: spec.payoutCurrency, bank_account: { holder_name: `Model Shop ${index}`, account_number: accountNumbers[spec.account], bank_code: 'DEUTDEFF' } },
    });
    this.expectReply(payout, 200, `payout settings of merchant ${index}`);
    this.merchants.push(merchant);
  }

  async setPricing(merchant: Merchant, rules: readonly PricingRuleSpec[]): Promise<string> {
    const reply = await this.t.request('PUT', `/v1/merchants/${merchant.id}/pricing`, { key: this.t.adminKey, body: { rules } });
    if (!this.expectReply(reply, 200, `pricing of merchant ${merchant.index}`)) return `http_${reply.status}`;
    merchant.rules = rules;
    return 'set';
  }

  // ---------------------------------------------------------------- payout workers, in the background

  startWorkers(): void {
    const ctx = this.t.app.ctx;
    this.loops = Array.from({ length: workerLoops }, async (_, loop) => {
      while (!this.stopped) {
        // One loop moves the clock on a second a round (leases and back-offs read it), within the phase's cap.
        if (loop === 0 && (this.clockCap === null || this.clock.now().getTime() + 1_000 <= this.clockCap)) this.clock.advance(1_000);
        try {
          await submitPayouts(ctx, this.banks);
          await pollBankStatusFiles(ctx, this.banks);
        } catch (error) {
          this.problem(`payout worker round threw: ${error instanceof Error ? error.stack : String(error)}`);
        }
        this.stats.workerRounds += 1;
        await sleep(10);
      }
    });
  }

  async stopWorkers(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  // ---------------------------------------------------------------- merchant operations

  async merchantOp(merchant: Merchant, op: MerchantOp): Promise<string> {
    switch (op.op) {
      case 'card':
        return this.payByCard(merchant, op);
      case 'wallet':
        return this.payByWallet(merchant, op);
      case 'refund':
        return this.refund(merchant, op);
      case 'payout':
        return this.payout(merchant, op);
      case 'pricing':
        return this.setPricing(merchant, op.rules);
    }
  }

  private async newOrder(merchant: Merchant, currency: string, amount: number): Promise<string | null> {
    const order = await this.t.request('POST', '/v1/orders', { key: merchant.key, body: { currency, items: [{ name: 'Model item', unit_amount: amount, quantity: 1 }] } });
    return this.expectReply(order, 201, `order of ${amount} ${currency}`) ? order.body.id : null;
  }

  private captured(merchant: Merchant, payment: any, amount: number): void {
    const attempt = payment.attempts.find((a: any) => a.status === 'succeeded');
    if (payment.amount !== amount || attempt === undefined || attempt.channel !== payment.channel) {
      this.problem(`payment ${payment.id} succeeded for ${payment.amount} (asked ${amount}) with attempts ${JSON.stringify(payment.attempts)} on ${payment.channel}`);
      return;
    }
    merchant.payments.push(this.model.capture({
      id: payment.id, merchant: merchant.id, method: payment.method, channel: payment.channel, outTradeNo: attempt.out_trade_no,
      currency: payment.currency, gross: BigInt(amount), at: this.phaseStart, rules: merchant.rules,
    }));
  }

  private async payByCard(merchant: Merchant, op: Extract<MerchantOp, { op: 'card' }>): Promise<string> {
    const currency = op.currency === 'home' ? merchant.spec.payoutCurrency : op.currency;
    const orderId = await this.newOrder(merchant, currency, op.amount);
    if (orderId === null) return 'order_refused';
    const token = op.declined ? 'pm_card_chargeDeclined' : 'pm_card_visa';
    const reply = await this.t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: orderId, method: 'card', payment_method_data: { token } } });
    if (!this.expectReply(reply, 201, `card payment of ${op.amount} ${currency}`)) return `http_${reply.status}`;
    const expected = op.declined ? 'failed' : 'succeeded';
    if (reply.body.status !== expected) this.problem(`card payment ${reply.body.id} (${token}) is ${reply.body.status}, expected ${expected}: ${JSON.stringify(reply.body)}`);
    if (reply.body.status === 'succeeded') this.captured(merchant, reply.body, op.amount);
    return reply.body.status;
  }

  private async payByWallet(merchant: Merchant, op: Extract<MerchantOp, { op: 'wallet' }>): Promise<string> {
    const orderId = await this.newOrder(merchant, 'CNY', op.amount);
    if (orderId === null) return 'order_refused';
    const reply = await this.t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: orderId, method: op.method } });
    if (!this.expectReply(reply, 201, `${op.method} payment`)) return `http_${reply.status}`;
    if (reply.body.status !== 'requires_action') {
      this.problem(`${op.method} payment ${reply.body.id} is ${reply.body.status}, expected requires_action`);
      return reply.body.status;
    }
    if (!op.completed) return 'left_unpaid';
    const attempt = reply.body.attempts[0];
    const paid = await this.t.request('POST', `/sandbox/${attempt.channel}/pay/${attempt.out_trade_no}`, { key: this.t.adminKey });
    if (!this.expectReply(paid, 200, `payer completing ${attempt.out_trade_no}`)) return 'not_completed';
    const deadline = Date.now() + walletWaitMsMax;
    for (;;) {
      const payment = (await this.t.request('GET', `/v1/payments/${reply.body.id}`, { key: merchant.key })).body;
      if (payment.status === 'succeeded') {
        this.captured(merchant, payment, op.amount);
        return 'succeeded';
      }
      if (payment.status !== 'requires_action' && payment.status !== 'processing') {
        this.problem(`${op.method} payment ${payment.id} paid by the payer ended ${payment.status}`);
        return payment.status;
      }
      if (Date.now() > deadline) {
        this.problem(`${op.method} payment ${payment.id} paid by the payer is still ${payment.status} after ${walletWaitMsMax} ms`);
        return 'stuck';
      }
      await sleep(30);
    }
  }

  private async refund(merchant: Merchant, op: Extract<MerchantOp, { op: 'refund' }>): Promise<string> {
    if (merchant.payments.length === 0) return 'nothing_to_refund';
    const payment = merchant.payments[op.pick % merchant.payments.length]!;
    const remaining = payment.gross - payment.refunded;
    let amount = op.part === 'full' ? remaining : op.part === 'half' ? remaining / 2n : op.part === 'one' ? 1n : remaining + 1n;
    if (amount <= 0n) amount = remaining + 1n; // nothing left: ask for one more than that
    const valid = amount <= remaining;
    const reply = await this.t.request('POST', `/v1/payments/${payment.id}/refunds`, { key: merchant.key, body: { amount: Number(amount) } });
    if (!valid) {
      if (reply.status !== 409 || reply.body?.error?.code !== 'refund_exceeds_captured') this.problem(`refund of ${amount} on ${payment.id} (${remaining} left) answered ${reply.status} ${JSON.stringify(reply.body)}, expected 409 refund_exceeds_captured`);
      return reply.body?.error?.code ?? `http_${reply.status}`;
    }
    if (!this.expectReply(reply, 201, `refund of ${amount} on ${payment.id}`)) return `http_${reply.status}`;
    if (reply.body.status !== 'succeeded') {
      this.problem(`refund ${reply.body.id} of ${amount} on ${payment.id} is ${reply.body.status}; the sandboxes refund at once`);
      return reply.body.status;
    }
    this.model.refund(payment, amount, this.phaseStart, payment.refundPolicy);
    return amount === remaining ? 'succeeded_full' : 'succeeded_partial';
  }

  private async payout(merchant: Merchant, op: Extract<MerchantOp, { op: 'payout' }>): Promise<string> {
    const currency = merchant.spec.payoutCurrency;
    const minimum = BigInt(merchant.spec.payoutMinimum);
    // Only failures and returns of payouts, and settlements, add to available, and this merchant's
    // own payouts (this stream, one at a time) take from it: so the model's figure is a floor.
    const atLeast = this.model.availableAtLeast(merchant.id, currency);
    let amount: bigint | undefined;
    if (op.part === 'half') amount = atLeast >= 2n ? atLeast / 2n : 100n;
    else if (op.part === 'below_minimum') amount = minimum >= 2n ? minimum - 1n : 1n;
    else if (op.part === 'too_much') {
      // More than the floor plus everything that could still reach available: every capture and every payout of this merchant.
      let ceiling = atLeast;
      for (const p of merchant.payments) if (p.currency === currency) ceiling += p.gross;
      for (const p of this.model.payouts.values()) if (p.merchant === merchant.id && p.currency === currency) ceiling += p.amount;
      amount = ceiling + 1n;
    }
    const reply = await this.t.request('POST', '/v1/payouts', { key: merchant.key, body: { currency, ...(amount === undefined ? {} : { amount: Number(amount) }) } });
    const code: string = reply.status === 201 ? 'created' : reply.body?.error?.code ?? `http_${reply.status}`;
    let expected: string | null = null;
    if (op.part === 'too_much') expected = 'payout_exceeds_available';
    else if (amount !== undefined && amount > 0n && amount <= atLeast) expected = amount >= minimum ? 'created' : 'payout_below_minimum';
    else if (amount === undefined && atLeast > 0n && atLeast >= minimum) expected = 'created';
    if (expected !== null && code !== expected) this.problem(`payout of ${amount ?? 'all'} ${currency} by merchant ${merchant.index} (available at least ${atLeast}, minimum ${minimum}): ${code}, expected ${expected}`);
    if (reply.status !== 201 && code !== 'payout_exceeds_available' && code !== 'payout_below_minimum') this.problem(`payout answered ${reply.status} ${JSON.stringify(reply.body)}`);
    if (reply.status === 201) {
      const created = BigInt(reply.body.amount);
      if ((amount !== undefined && created !== amount) || (amount === undefined && created < atLeast) || reply.body.currency !== currency) {
        this.problem(`payout ${reply.body.id} is of ${created} ${reply.body.currency}; asked ${amount ?? 'all'} ${currency}, available at least ${atLeast}`);
      }
      this.model.payoutCreated(reply.body.id, merchant.id, currency, created);
    }
    return `${op.part}:${code}`;
  }

  // ---------------------------------------------------------------- platform operations

  async platformOp(op: PlatformOp): Promise<string> {
    if (op.op === 'bank_faults') {
      const sandbox = this.banks.sandboxes.get(op.bank)!;
      if (op.faults === 'none') sandbox.resetFaults();
      else sandbox.setFaults({ errors: { error_rate: 0.3 }, timeouts: { timeout_rate: 0.2 }, outage: { outage: true }, latency: { latency_ms: 40 } }[op.faults]);
      return `${op.bank}:${op.faults}`;
    }
    const date = new Date(this.phaseStart - op.daysBack * dayMs).toISOString().slice(0, 10);
    const chosen = op.merchant === null ? null : this.merchants[op.merchant % this.merchants.length]!;
    const body = { date, ...(chosen === null ? {} : { merchant_id: chosen.id }) };
    const runs = op.twice ? 2 : 1;
    const replies = await Promise.all(Array.from({ length: runs }, () => this.t.request('POST', '/v1/admin/settlements/run', { key: this.t.adminKey, body })));
    const expected: SettleOutcome[] = [];
    for (let run = 0; run < runs; run++) {
      for (const merchant of chosen === null ? this.merchants : [chosen]) expected.push(...this.model.settle(merchant.id, date, this.phaseStart));
    }
    const counts = new Map<string, number>();
    const shown: string[] = [];
    for (const reply of replies) {
      if (!this.expectReply(reply, 200, `settlement run of ${date}`)) return `http_${reply.status}`;
      for (const [outcome, n] of Object.entries(reply.body.counts as Record<string, number>)) if (n > 0) bump(counts, outcome, n);
      for (const r of reply.body.results) if (r.outcome !== 'no_transactions' && r.outcome !== 'day_not_closed') shown.push(settleLine(r.merchant_id, r.currency, r.outcome, r.batch));
    }
    const expectedCounts = new Map<string, number>();
    for (const e of expected) bump(expectedCounts, e.outcome);
    const wanted = expected.filter((e) => e.outcome !== 'no_transactions' && e.outcome !== 'day_not_closed').map((e) => settleLine(e.merchant, e.currency, e.outcome, e.batch && modelBatchView(e.batch)));
    const sortedCounts = (m: Map<string, number>) => JSON.stringify([...m].sort());
    if (sortedCounts(counts) !== sortedCounts(expectedCounts) || JSON.stringify(shown.sort()) !== JSON.stringify(wanted.sort())) {
      this.problem(`settlement run of ${date} (${chosen === null ? 'all merchants' : `merchant ${chosen.index}`}, ${runs}x at ${new Date(this.phaseStart).toISOString()}):\n  counts ${sortedCounts(counts)}, model ${sortedCounts(expectedCounts)}\n  got    ${shown.join('\n         ')}\n  model  ${wanted.join('\n         ')}`);
    }
    for (const [outcome, n] of counts) bump(this.stats.ops, `settle:${outcome}`, n);
    return `runs_${runs}`;
  }

  // ---------------------------------------------------------------- phases

  async runPhase(phase: Phase, index: number): Promise<void> {
    if (index > 0) this.phaseStart += phase.advanceHours * hourMs;
    if (this.clock.now().getTime() > this.phaseStart) throw new Error('runner: the clock ran past the next phase');
    this.clock.set(new Date(this.phaseStart));
    this.clockCap = this.phaseStart + phaseDriftMsMax;
    if (index === 0) this.startWorkers();
    const streams = this.merchants.map(async (merchant) => {
      for (const { m, op } of phase.merchantOps) {
        if (m % this.merchants.length !== merchant.index) continue;
        const outcome = await this.merchantOp(merchant, op);
        if (op.op !== 'payout') bump(this.stats.ops, `${op.op}:${outcome}`);
        else bump(this.stats.ops, `payout:${outcome}`);
      }
    });
    const platform = (async () => {
      for (const op of phase.platformOps) {
        const outcome = await this.platformOp(op);
        if (op.op === 'bank_faults') bump(this.stats.ops, `bank_faults:${outcome}`);
      }
    })();
    await Promise.all([...streams, platform]);
    for (const sandbox of this.banks.sandboxes.values()) sandbox.resetFaults();
  }

  /** Lets the workers run (the clock free) until every payout is final and every bouncing one came back. */
  async drain(): Promise<void> {
    this.clockCap = null;
    for (const sandbox of this.banks.sandboxes.values()) sandbox.resetFaults();
    const bouncing = this.merchants.filter((m) => m.spec.account === 'returned').map((m) => m.id);
    const deadline = Date.now() + drainMsMax;
    for (;;) {
      const { rows } = await this.t.app.ctx.db.query<{ id: string; status: string }>(
        "SELECT id, status FROM payouts WHERE status IN ('created', 'submitted') OR (status = 'paid' AND merchant_id = ANY($1::text[]))",
        [bouncing],
      );
      if (rows.length === 0) return;
      if (Date.now() > deadline) {
        this.problem(`payouts not final after ${drainMsMax} ms: ${rows.map((r) => `${r.id} ${r.status}`).join(', ')}`);
        return;
      }
      await sleep(50);
    }
  }

  // ---------------------------------------------------------------- the comparison

  async observePayouts(): Promise<void> {
    for (const payout of this.model.payouts.values()) {
      const merchant = this.merchants.find((m) => m.id === payout.merchant)!;
      const reply = await this.t.request('GET', `/v1/payouts/${payout.id}`, { key: merchant.key });
      if (!this.expectReply(reply, 200, `payout ${payout.id}`)) continue;
      const { status, bank } = reply.body as { status: string; bank: string | null };
      if (status !== 'paid' && status !== 'failed' && status !== 'returned') {
        this.problem(`payout ${payout.id} ended ${status}`);
        continue;
      }
      const kind = merchant.spec.account;
      const allowed: Record<AccountKind, string[]> = {
        normal: ['paid@bank_api', 'paid@bank_file'],
        rejected_by_bank_api: ['paid@bank_file'],
        // bank_api may give up on a transfer under faults (a confirmed cancel): bank_file then refuses it.
        rejected_by_bank_file: ['paid@bank_api', 'failed@bank_file', 'failed@null'],
        rejected_by_all: ['failed@bank_file', 'failed@bank_api', 'failed@null'],
        returned: ['returned@bank_api', 'returned@bank_file'],
      };
      if (!allowed[kind].includes(`${status}@${bank}`)) this.problem(`payout ${payout.id} to a ${kind} account ended ${status} at ${bank}`);
      bump(this.stats.ops, `payout_final:${status}`);
      this.model.payoutFinal(payout.id, status, status === 'failed' ? null : bank);
    }
  }

  async compare(): Promise<void> {
    const { t, model } = this;
    const db = t.app.ctx.db;
    // Every logical account of the ledger against the model, both ways.
    const { rows } = await db.query<{ logical_id: string; balance: bigint }>('SELECT logical_id, sum(balance)::bigint AS balance FROM ledger_accounts GROUP BY logical_id');
    const ledger = new Map(rows.map((r) => [r.logical_id.split(':').join('|'), BigInt(r.balance)]));
    for (const name of new Set([...ledger.keys(), ...model.balances.keys()])) {
      const got = ledger.get(name) ?? 0n;
      const want = model.balances.get(name) ?? 0n;
      if (got !== want) this.problem(`ledger ${name.split('|').join(':')}: ${got}, model ${want}`);
    }
    // The platform's accounts once more through accountBalance, the merchants' through GET /v1/balance.
    for (const name of model.balances.keys()) {
      const [type, owner, currency] = name.split('|') as [string, string, string];
      if (!isAccountType(type) || type.startsWith('merchant_') || type === 'payout_in_transit') continue;
      const got = (await accountBalance(db, account(type, owner, currency))).amount;
      if (got !== model.balance(type, owner, currency)) this.problem(`accountBalance ${type}:${owner}:${currency}: ${got}, model ${model.balance(type, owner, currency)}`);
    }
    for (const merchant of this.merchants) {
      const reply = await t.request('GET', '/v1/balance', { key: merchant.key });
      if (!this.expectReply(reply, 200, `balance of merchant ${merchant.index}`)) continue;
      for (const [field, type] of [['pending', 'merchant_pending'], ['available', 'merchant_available'], ['in_transit', 'payout_in_transit']] as const) {
        const got = new Map<string, bigint>((reply.body[field] as { amount: number; currency: string }[]).map((b) => [b.currency, BigInt(b.amount)]));
        const currencies = new Set([...got.keys(), ...[...model.balances.keys()].filter((k) => k.startsWith(`${type}|${merchant.id}|`)).map((k) => k.split('|')[2]!)]);
        for (const currency of currencies) {
          const want = -model.balance(type, merchant.id, currency);
          if ((got.get(currency) ?? 0n) !== want) this.problem(`GET /v1/balance of merchant ${merchant.index}: ${field} ${got.get(currency) ?? 0n} ${currency}, model ${want}`);
        }
      }
    }
    // Entries by kind.
    const { rows: kinds } = await db.query<{ kind: string; n: bigint }>('SELECT kind, count(*)::bigint AS n FROM journal_entries GROUP BY kind');
    const posted = new Map(kinds.map((k) => [k.kind, Number(k.n)]));
    for (const [kind, n] of Object.entries(model.entries)) {
      if ((posted.get(kind) ?? 0) !== n) this.problem(`journal entries of kind ${kind}: ${posted.get(kind) ?? 0}, model ${n}`);
    }
    for (const [kind, n] of posted) {
      if (!(kind in model.entries)) this.problem(`journal entries of kind ${kind}: ${n}, model none`);
      bump(this.stats.entries, kind, n);
    }
    const check = await t.request('GET', '/v1/admin/ledger/check', { key: t.adminKey });
    if (check.status !== 200 || check.body.ok !== true) this.problem(`ledger check: ${JSON.stringify(check.body)}`);
    await this.compareSandboxBooks();
  }

  private async compareSandboxBooks(): Promise<void> {
    const { model } = this;
    for (const channel of channels) {
      const reply = await this.t.request('GET', `/sandbox/${channel}/ledger`, { key: this.t.adminKey });
      if (!this.expectReply(reply, 200, `${channel} sandbox ledger`)) continue;
      const got = (reply.body.data as { out_trade_no: string; charged: number; refunded: number }[]).filter((r) => r.charged !== 0 || r.refunded !== 0).map((r) => `${r.out_trade_no} charged ${r.charged} refunded ${r.refunded}`);
      const want = [...model.channelBooks].filter(([, b]) => b.channel === channel).map(([no, b]) => `${no} charged ${b.charged} refunded ${b.refunded}`);
      if (JSON.stringify(got.sort()) !== JSON.stringify(want.sort())) this.problem(`${channel} sandbox's books:\n  got   ${got.join('; ')}\n  model ${want.join('; ')}`);
    }
    for (const [bank, sandbox] of this.banks.sandboxes) {
      const got = sandbox.ledger().map((r) => `${r.reference} ${r.currency} paid ${r.paid} returned ${r.returned}`);
      const want = [...model.payouts.values()]
        .filter((p) => p.final !== null && p.final.status !== 'failed' && p.final.bank === bank)
        .map((p) => `${p.id} ${p.currency} paid ${p.amount} returned ${p.final!.status === 'returned' ? p.amount : 0n}`);
      if (JSON.stringify(got.sort()) !== JSON.stringify(want.sort())) this.problem(`${bank}'s books:\n  got   ${got.join('; ')}\n  model ${want.join('; ')}`);
    }
  }
}

function settleLine(merchant: string, currency: string | null, outcome: string, batch: Record<string, unknown> | null): string {
  if (batch === null) return `${merchant} ${currency} ${outcome}`;
  const fields = ['date', 'capture_count', 'refund_count', 'gross', 'refunds', 'fees_charged', 'fees_returned', 'net', 'carried_in', 'amount_settled', 'carried_out'];
  const window = batch.window as { start: string; end: string };
  return `${merchant} ${currency} ${outcome} [${window.start} .. ${window.end}) ${fields.map((f) => `${f}=${String(batch[f])}`).join(' ')}`;
}

function modelBatchView(batch: NonNullable<SettleOutcome['batch']>): Record<string, unknown> {
  return {
    date: batch.date, window: { start: new Date(batch.start).toISOString(), end: new Date(batch.end).toISOString() },
    capture_count: batch.captureCount, refund_count: batch.refundCount, gross: batch.gross, refunds: batch.refunds, fees_charged: batch.feesCharged,
    fees_returned: batch.feesReturned, net: batch.net, carried_in: batch.carriedIn, amount_settled: batch.amountSettled, carried_out: batch.carriedOut,
  };
}

/** One scenario, start to finish, on a fresh app and database; throws with every difference found. */
export async function runScenario(scenario: Scenario, stats: RunStats): Promise<void> {
  const clock = new ManualClock(new Date(runStart));
  const t = await startTestApp('postgres', { clock });
  const banks = await fastBanks(t);
  const run = new Run(t, clock, banks, stats);
  try {
    for (const [index, spec] of scenario.merchants.entries()) await run.addMerchant(spec, index);
    for (const [index, phase] of scenario.phases.entries()) await run.runPhase(phase, index);
    await run.drain();
    await run.stopWorkers();
    await run.observePayouts();
    await run.compare();
    stats.sequences += 1;
  } finally {
    await run.stopWorkers();
    await banks.close();
    await t.close();
  }
  if (run.problems.length > 0) {
    const message = `the ledger and the model disagree (${run.problems.length}):\n${run.problems.join('\n')}`;
    stats.failures += 1;
    // The first failure at once (shrinking takes a while); fast-check prints the shrunk one at the end.
    if (stats.failures === 1) console.error(`money-flow model: first failing scenario ${JSON.stringify(scenario)}\n${message}`);
    throw new Error(message);
  }
}
