// Payouts over HTTP and through the workers, on both stores: settings, manual payouts and their
// refusals (nothing written), the bank paying, failover after a definite refusal, failure when
// every bank refuses (money back), a return reversed in the ledger, schedules and minimums,
// notifications (forged ones change nothing), and another merchant's id answering 404.
import { describe, expect, it } from 'vitest';
import { account } from '../../src/ledger/domain/accounts.ts';
import { accountBalance } from '../../src/ledger/journal.ts';
import { checkLedger } from '../../src/ledger/check.ts';
import { testAccounts } from '../../sandbox/shared/bank.ts';
import { schedulePayouts } from '../../src/payouts/service.ts';
import type { PayoutBanks } from '../../src/payouts/configure.ts';
import { stores, useTestApp } from '../support/harness.ts';
import { bankAccount, fastBanks, fund, runUntil } from './support.ts';

describe.each(stores)('payouts on %s', (store) => {
  const current = useTestApp(store);
  let banks: PayoutBanks | undefined;
  const banksOf = async (): Promise<PayoutBanks> => (banks ??= await fastBanks(current().t));

  async function merchantWith(accountNumber: string, funded: bigint, schedule: 'daily' | 'weekly' | 'manual' = 'manual', minimum = 0) {
    const { t } = current();
    const merchant = await t.newMerchant();
    if (funded > 0n) await fund(t.app.ctx, merchant.id, funded, `settle_${merchant.id}`);
    const put = await t.request('PUT', '/v1/payout_settings', { key: merchant.key, body: { schedule, ...(schedule === 'weekly' ? { weekly_day: 1 } : {}), minimum_amount: minimum, currency: 'EUR', bank_account: bankAccount(accountNumber) } });
    expect(put.status).toBe(200);
    return merchant;
  }
  const available = async (merchantId: string) => -(await accountBalance(current().t.app.ctx.db, account('merchant_available', merchantId, 'EUR'))).amount;
  const inTransit = async (merchantId: string) => -(await accountBalance(current().t.app.ctx.db, account('payout_in_transit', merchantId, 'EUR'))).amount;
  const payoutOf = async (key: string, id: string) => (await current().t.request('GET', `/v1/payouts/${id}`, { key })).body;
  const settled = (key: string, id: string, statuses: string[]) => async () => statuses.includes((await payoutOf(key, id)).status);

  it('validates settings and refuses a payout without them, above the balance or below the minimum, writing nothing', async () => {
    const { t } = current();
    const bare = await t.newMerchant();
    expect((await t.request('POST', '/v1/payouts', { key: bare.key, body: { currency: 'EUR' } })).body.error.code).toBe('payout_settings_missing');
    expect((await t.request('GET', '/v1/payout_settings', { key: bare.key })).status).toBe(404);
    const bad = await t.request('PUT', '/v1/payout_settings', { key: bare.key, body: { schedule: 'weekly', minimum_amount: 0, currency: 'EUR', bank_account: bankAccount() } });
    expect([bad.status, bad.body.error.code, bad.body.error.param]).toEqual([400, 'missing_param', 'weekly_day']);
    const badAccount = await t.request('PUT', '/v1/payout_settings', { key: bare.key, body: { schedule: 'daily', minimum_amount: 0, currency: 'EUR', bank_account: { ...bankAccount(), account_number: 'x' } } });
    expect(badAccount.status).toBe(400);

    const merchant = await merchantWith('DE5555555555', 10_000n, 'manual', 500);
    expect((await t.request('GET', '/v1/payout_settings', { key: merchant.key })).body).toMatchObject({ schedule: 'manual', minimum_amount: 500, currency: 'EUR', bank_account: bankAccount('DE5555555555') });
    const tooMuch = await t.request('POST', '/v1/payouts', { key: merchant.key, body: { currency: 'EUR', amount: 10_001 } });
    expect([tooMuch.status, tooMuch.body.error.code]).toEqual([409, 'payout_exceeds_available']);
    const tooLittle = await t.request('POST', '/v1/payouts', { key: merchant.key, body: { currency: 'EUR', amount: 499 } });
    expect([tooLittle.status, tooLittle.body.error.code]).toEqual([409, 'payout_below_minimum']);
    const otherCurrency = await t.request('POST', '/v1/payouts', { key: merchant.key, body: { currency: 'USD' } });
    expect([otherCurrency.status, otherCurrency.body.error.code]).toEqual([400, 'payout_currency_mismatch']);
    expect((await t.request('POST', '/v1/payouts', { key: merchant.key, body: { currency: 'EUR', amount: -5 } })).status).toBe(400);
    expect((await t.request('GET', '/v1/payouts', { key: merchant.key })).body.data).toEqual([]);
    expect(await available(merchant.id)).toBe(10_000n);
  });

  it('pays a manual payout of the whole balance through the first bank, booked and announced', async () => {
    const { t } = current();
    const ctx = t.app.ctx;
    const b = await banksOf();
    const merchant = await merchantWith('DE6666666666', 25_000n);
    const created = await t.request('POST', '/v1/payouts', { key: merchant.key, body: { currency: 'EUR' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ object: 'payout', status: 'created', amount: 25_000, currency: 'EUR', method: 'manual' });
    expect(await available(merchant.id)).toBe(0n);
    expect(await inTransit(merchant.id)).toBe(25_000n);
    await runUntil(ctx, b, settled(merchant.key, created.body.id, ['paid']));
    const paid = await payoutOf(merchant.key, created.body.id);
    expect(paid).toMatchObject({ status: 'paid', bank: 'bank_api', attempts: [{ bank: 'bank_api', status: 'paid' }] });
    expect(await inTransit(merchant.id)).toBe(0n);
    expect(b.sandboxes.get('bank_api')!.ledger().filter((r) => r.reference === created.body.id).map((r) => r.paid)).toEqual([25_000]);
    const { rows } = await ctx.db.query<{ type: string }>('SELECT type FROM outbox_events WHERE object_id = $1 ORDER BY seq', [created.body.id]);
    expect(rows.map((r) => r.type)).toEqual(['payout.created', 'payout.submitted', 'payout.paid']);
    const other = await t.newMerchant();
    expect((await t.request('GET', `/v1/payouts/${created.body.id}`, { key: other.key })).status).toBe(404);
    expect((await t.request('GET', '/v1/payouts', { key: merchant.key })).body.data.map((p: { id: string }) => p.id)).toEqual([created.body.id]);
  });

  it('fails over to the other bank after a definite refusal, and fails (money back) when every bank refuses', async () => {
    const { t } = current();
    const ctx = t.app.ctx;
    const b = await banksOf();
    const moved = await merchantWith(testAccounts.rejected_by_bank_api, 7_000n);
    const first = (await t.request('POST', '/v1/payouts', { key: moved.key, body: { currency: 'EUR', amount: 6_000 } })).body;
    const doomed = await merchantWith(testAccounts.rejected_by_all, 3_000n);
    const second = (await t.request('POST', '/v1/payouts', { key: doomed.key, body: { currency: 'EUR' } })).body;
    await runUntil(ctx, b, async () => (await settled(moved.key, first.id, ['paid'])()) && (await settled(doomed.key, second.id, ['failed'])()));
    const paid = await payoutOf(moved.key, first.id);
    expect(paid.attempts.map((a: { bank: string; status: string }) => [a.bank, a.status])).toEqual([['bank_api', 'failed'], ['bank_file', 'paid']]);
    expect(paid.bank).toBe('bank_file');
    expect(b.sandboxes.get('bank_file')!.ledger().filter((r) => r.reference === first.id).map((r) => r.paid)).toEqual([6_000]);
    expect(b.sandboxes.get('bank_api')!.ledger().filter((r) => r.reference === first.id)).toEqual([]);
    expect(await available(moved.id)).toBe(1_000n);
    const failed = await payoutOf(doomed.key, second.id);
    expect(failed).toMatchObject({ status: 'failed', failure_code: 'all_banks_failed' });
    expect(await available(doomed.id)).toBe(3_000n);
    expect(await inTransit(doomed.id)).toBe(0n);
    expect((await checkLedger(ctx.db)).ok).toBe(true);
  });

  it('reverses a return in the ledger: the money is available to the merchant again', async () => {
    const { t } = current();
    const ctx = t.app.ctx;
    const b = await banksOf();
    const merchant = await merchantWith(testAccounts.returned, 4_000n);
    const payout = (await t.request('POST', '/v1/payouts', { key: merchant.key, body: { currency: 'EUR' } })).body;
    await runUntil(ctx, b, settled(merchant.key, payout.id, ['returned']));
    expect(await payoutOf(merchant.key, payout.id)).toMatchObject({ status: 'returned', return_reason: 'account_closed' });
    expect(await available(merchant.id)).toBe(4_000n);
    expect(await inTransit(merchant.id)).toBe(0n);
    const { rows } = await ctx.db.query<{ kind: string }>("SELECT kind FROM journal_entries WHERE event_id LIKE $1 || '%' ORDER BY created_at, kind", [payout.id]);
    expect(rows.map((r) => r.kind).sort()).toEqual(['payout', 'payout_paid', 'payout_return']);
    expect((await checkLedger(ctx.db)).ok).toBe(true);
  });

  it('schedules daily and weekly payouts once a day, at or above the minimum, never for manual ones', async () => {
    const { t } = current();
    const ctx = t.app.ctx;
    const daily = await merchantWith('DE7777777777', 900n, 'daily', 1_000);
    const weekly = await merchantWith('DE8888888888', 2_000n, 'weekly', 0);
    const manual = await merchantWith('DE9999999999', 5_000n, 'manual', 0);
    const list = async (key: string) => (await t.request('GET', '/v1/payouts', { key })).body.data as { amount: number; method: string }[];
    await schedulePayouts(ctx);
    expect(await list(daily.key)).toEqual([]); // 900 is below the minimum
    await fund(ctx, daily.id, 300n, `settle_more_${daily.id}`);
    await Promise.all([schedulePayouts(ctx), schedulePayouts(ctx)]);
    await schedulePayouts(ctx);
    expect((await list(daily.key)).map((p) => [p.amount, p.method])).toEqual([[1_200, 'daily']]);
    const monday = new Date().getUTCDay() === 1;
    expect((await list(weekly.key)).map((p) => [p.amount, p.method])).toEqual(monday ? [[2_000, 'weekly']] : []);
    expect(await list(manual.key)).toEqual([]);
  });

  it('applies a signed bank notification once, and a forged one changes nothing', async () => {
    const { t } = current();
    const ctx = t.app.ctx;
    const b = await banksOf();
    const forged = await t.request('POST', '/notify/bank/bank_api', { rawBody: JSON.stringify({ type: 'credit_transfer.executed', data: {} }), headers: { 'content-type': 'application/json', 'bank-signature': `t=${Math.floor(Date.now() / 1000)},v1=${'ab'.repeat(32)}` } });
    expect([forged.status, forged.body.reason]).toEqual([400, 'signature mismatch']);
    expect((await t.request('POST', '/notify/bank/nobank', { rawBody: '{}' })).status).toBe(404);
    // Worker rounds only until the bank has it; then the webhook alone (no worker, no query) takes it to paid.
    const merchant = await merchantWith('DE4444444444', 1_500n);
    const payout = (await t.request('POST', '/v1/payouts', { key: merchant.key, body: { currency: 'EUR' } })).body;
    await runUntil(ctx, b, async () => (await payoutOf(merchant.key, payout.id)).status !== 'created');
    for (let i = 0; i < 200 && (await payoutOf(merchant.key, payout.id)).status !== 'paid'; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await payoutOf(merchant.key, payout.id)).status).toBe('paid');
  });
});
