// "Payouts under bank faults paying each merchant exactly once" (issue 4, item 7), on the
// PostgreSQL server: three worker loops at once (as three processes would: claims with FOR
// UPDATE SKIP LOCKED and leases) drive the payouts of many merchants through both banks while
// the banks answer errors, time out after doing the work, and go down for a while. Afterwards
// the banks' own books say every paid payout was paid exactly once, at one bank, failed ones
// never, returned ones paid and given back; the ledger balances agree and checkLedger passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { account } from '../../src/ledger/domain/accounts.ts';
import { accountBalance } from '../../src/ledger/journal.ts';
import { checkLedger } from '../../src/ledger/check.ts';
import { testAccounts, type BankLedgerRow } from '../../sandbox/shared/bank.ts';
import type { PayoutBanks } from '../../src/payouts/configure.ts';
import { startTestApp, type TestApp } from '../support/harness.ts';
import { bankAccount, fastBanks, fund, workerRound } from './support.ts';

const merchantsCount = 24;
const workerLoops = 3;

describe.runIf(process.env.TEST_DATABASE_URL)('payouts under bank faults on postgres', () => {
  let t: TestApp;
  let banks: PayoutBanks;
  beforeAll(async () => {
    t = await startTestApp('postgres');
    banks = await fastBanks(t);
  });
  afterAll(async () => {
    await banks?.close();
    await t?.close();
  });

  it('pays each merchant exactly once per payout, by the banks\' own books, with 3 workers under errors, timeouts and an outage', async () => {
    const ctx = t.app.ctx;
    // Every 6th merchant's account is refused by bank_api (fails over to bank_file), every 8th is
    // refused by both (the payout fails), every 10th bounces (returned).
    const accountFor = (i: number) => (i % 8 === 7 ? testAccounts.rejected_by_all : i % 6 === 5 ? testAccounts.rejected_by_bank_api : i % 10 === 9 ? testAccounts.returned : `DE${String(1_000_000_000 + i)}`);
    const merchants: { id: string; key: string; funded: bigint }[] = [];
    for (let i = 0; i < merchantsCount; i++) {
      const merchant = await t.newMerchant(`Shop ${i}`);
      const funded = BigInt(10_000 + i * 137);
      await fund(ctx, merchant.id, funded, `settle_fault_${i}`);
      const put = await t.request('PUT', '/v1/payout_settings', { key: merchant.key, body: { schedule: 'manual', minimum_amount: 100, currency: 'EUR', bank_account: bankAccount(accountFor(i)) } });
      expect(put.status).toBe(200);
      merchants.push({ ...merchant, funded });
    }
    const payouts: { id: string; merchant: number; amount: bigint }[] = [];
    for (const [index, merchant] of merchants.entries()) {
      for (const amount of [3_000n, 2_000n + BigInt(index)]) {
        const created = await t.request('POST', '/v1/payouts', { key: merchant.key, body: { currency: 'EUR', amount: Number(amount) } });
        expect(created.status).toBe(201);
        payouts.push({ id: created.body.id, merchant: index, amount });
      }
    }

    const api = banks.sandboxes.get('bank_api')!;
    const file = banks.sandboxes.get('bank_file')!;
    api.setFaults({ error_rate: 0.25, timeout_rate: 0.15, latency_ms: 5 });
    file.setFaults({ error_rate: 0.25, timeout_rate: 0.15 });
    let stop = false;
    let rounds = 0;
    const loops = Array.from({ length: workerLoops }, async () => {
      while (!stop) {
        await workerRound(ctx, banks);
        rounds++;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    });
    const final = async () => {
      const { rows } = await ctx.db.query<{ n: bigint }>("SELECT count(*)::bigint AS n FROM payouts WHERE status IN ('created', 'submitted') OR (status = 'paid' AND id = ANY($1::text[]))", [payouts.filter((p) => accountFor(p.merchant) === testAccounts.returned).map((p) => p.id)]);
      return rows[0]!.n === 0n;
    };
    await new Promise((resolve) => setTimeout(resolve, 400));
    api.setFaults({ outage: true }); // bank_api down for a while: its attempts wait (never two live attempts), then go on
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    api.setFaults({ outage: false });
    const deadline = Date.now() + 30_000;
    while (!(await final()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    api.resetFaults();
    file.resetFaults();
    stop = true;
    await Promise.all(loops);
    expect(await final()).toBe(true);

    const { rows } = await ctx.db.query<{ id: string; status: string; bank: string | null }>('SELECT id, status, bank FROM payouts');
    const statusOf = new Map(rows.map((r) => [r.id, r]));
    const books: Record<string, BankLedgerRow[]> = { bank_api: api.ledger(), bank_file: file.ledger() };
    const counts: Record<string, number> = {};
    for (const payout of payouts) {
      const row = statusOf.get(payout.id)!;
      counts[row.status] = (counts[row.status] ?? 0) + 1;
      const moved = Object.entries(books).flatMap(([bank, book]) => book.filter((r) => r.reference === payout.id).map((r) => ({ bank, ...r })));
      const account = accountFor(payout.merchant);
      if (account === testAccounts.rejected_by_all) {
        expect(row.status, payout.id).toBe('failed');
        expect(moved).toEqual([]);
      } else {
        expect(moved.map((m) => [m.bank, m.paid]), payout.id).toEqual([[row.bank, Number(payout.amount)]]); // exactly one bank paid, once
        expect(moved[0]!.returned).toBe(account === testAccounts.returned ? Number(payout.amount) : 0);
        expect(row.status).toBe(account === testAccounts.returned ? 'returned' : 'paid');
        if (account === testAccounts.rejected_by_bank_api) expect(row.bank).toBe('bank_file');
      }
    }
    console.log(`payouts under faults: ${payouts.length} payouts, ${JSON.stringify(counts)}, ${rounds} worker rounds`);

    for (const [index, merchant] of merchants.entries()) {
      const paidOut = payouts.filter((p) => p.merchant === index && statusOf.get(p.id)!.status === 'paid').reduce((sum, p) => sum + p.amount, 0n);
      expect(-(await accountBalance(ctx.db, account('merchant_available', merchant.id, 'EUR'))).amount).toBe(merchant.funded - paidOut);
      expect((await accountBalance(ctx.db, account('payout_in_transit', merchant.id, 'EUR'))).amount).toBe(0n);
    }
    for (const [bank, book] of Object.entries(books)) {
      const net = book.reduce((sum, r) => sum + BigInt(r.paid - r.returned), 0n);
      expect((await accountBalance(ctx.db, account('bank_cash', bank, 'EUR'))).amount, bank).toBe(-net);
    }
    const { rows: live } = await ctx.db.query<{ n: bigint }>("SELECT count(*)::bigint AS n FROM payout_attempts GROUP BY payout_id HAVING count(*) FILTER (WHERE status <> 'failed') > 1");
    expect(live).toEqual([]);
    const { rows: resent } = await ctx.db.query<{ n: bigint }>('SELECT count(*)::bigint AS n FROM payout_attempts WHERE sends > 1');
    expect(resent[0]!.n).toBeGreaterThan(0n); // the faults were met: attempts were sent again under their one key
    expect((await checkLedger(ctx.db)).ok).toBe(true);
  }, 60_000);
});
