// Helpers of the payout tests: bank sandboxes with short timings attached to a test app, funding
// a merchant's available balance (a settlement-kind entry from merchant_pending, as settlement
// will post), and driving the payout workers until the payouts settle.
import { systemClock } from '../../src/kernel/clock.ts';
import { account } from '../../src/ledger/domain/accounts.ts';
import { entryDraft } from '../../src/ledger/domain/entries.ts';
import { postEntry } from '../../src/ledger/journal.ts';
import type { AppContext } from '../../src/http/context.ts';
import { attachPayoutBanks, configurePayoutBanks, type PayoutBanks } from '../../src/payouts/configure.ts';
import { pollBankStatusFiles, submitPayouts } from '../../src/payouts/worker.ts';
import type { TestApp } from '../support/harness.ts';

export const fastTimings = { lease_ms: 3_000, retry_delay_ms_first: 20, retry_delay_ms_max: 200, status_poll_ms: 150, attempt_sends_max: 4 } as const;

/** Fresh bank sandboxes and connectors with short timeouts, in place of the app's own. */
export async function fastBanks(t: TestApp): Promise<PayoutBanks> {
  const banks = await configurePayoutBanks({ sandbox: true, clock: systemClock, callTimeoutMs: 400, sandboxTimeoutHoldMs: 1_500, timings: fastTimings });
  banks.attach(t.url);
  attachPayoutBanks(t.app.ctx, banks);
  return banks;
}

export async function fund(ctx: AppContext, merchantId: string, amount: bigint, eventId: string, currency = 'EUR'): Promise<void> {
  const draft = entryDraft({
    eventId, kind: 'settlement', merchantId, reverses: null,
    postings: [{ account: account('merchant_pending', merchantId, currency), amount }, { account: account('merchant_available', merchantId, currency), amount: -amount }],
  });
  const result = await ctx.db.transaction((tx) => postEntry(tx, draft));
  if (!result.ok) throw new Error(`funding failed: ${result.rejection}`);
}

export const bankAccount = (accountNumber = 'DE1234567890') => ({ holder_name: 'Acme GmbH', account_number: accountNumber, bank_code: 'DEUTDEFF' });

/** One round of the workers (submit, then status files) on `ctx` with `banks`. */
export async function workerRound(ctx: AppContext, banks: PayoutBanks): Promise<void> {
  await submitPayouts(ctx, banks);
  await pollBankStatusFiles(ctx, banks);
}

/** Runs worker rounds until `done()` or the deadline. */
export async function runUntil(ctx: AppContext, banks: PayoutBanks, done: () => Promise<boolean>, deadlineMs = 15_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await done())) {
    if (Date.now() > end) throw new Error('runUntil: the payouts did not settle in time');
    await workerRound(ctx, banks);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function statusesOf(ctx: AppContext, merchantId: string): Promise<string[]> {
  const { rows } = await ctx.db.query<{ status: string }>('SELECT status FROM payouts WHERE merchant_id = $1 ORDER BY created_at, id', [merchantId]);
  return rows.map((r) => r.status);
}
