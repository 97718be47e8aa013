// Creating payouts (manual and scheduled) and writing a merchant's payout settings. A payout is
// created in one transaction with its ledger entry (Dr merchant_available / Cr
// payout_in_transit) and its payout.created event; the ledger's floor on merchant_available is
// the last word on "no more than available", so two concurrent payouts can never overdraw it.
import type { AppContext } from '../http/context.ts';
import { ClearwayError, assert } from '../kernel/errors.ts';
import { newId } from '../kernel/ids.ts';
import { money } from '../kernel/money.ts';
import { account } from '../ledger/domain/accounts.ts';
import { payoutEntry } from '../ledger/domain/entries.ts';
import { accountBalance, normalBalanceOf, postEntry } from '../ledger/journal.ts';
import { appendEvents } from '../outbox/outbox.ts';
import type { Queryable } from '../db/database.ts';
import { manualAmount, scheduleKeyFor, scheduledAmount } from './domain/schedule.ts';
import { insertPayout, readPayoutSettings, scheduledSettings, type PayoutRow, type PayoutSettingsRow } from './repository.ts';
import { payoutLimits } from './limits.ts';

/** What the merchant can pay out now, in its normal direction (credit-normal: positive when it holds money). */
export async function availableBalance(db: Queryable, merchantId: string, currency: string): Promise<bigint> {
  const ref = account('merchant_available', merchantId, currency);
  return normalBalanceOf(ref, await accountBalance(db, ref)).amount;
}

interface NewPayout {
  readonly settings: PayoutSettingsRow;
  readonly amount: bigint;
  readonly method: PayoutRow['method'];
  readonly scheduleKey: string | null;
}

/** Inserts the payout, posts its entry and appends payout.created in `tx`; null when its schedule key exists. Throws (rolling back) past the floor. */
async function insertWithEntry(tx: Queryable, ctx: AppContext, input: NewPayout): Promise<PayoutRow | null> {
  assert(input.amount > 0n, 'insertWithEntry: a positive amount');
  const now = ctx.clock.now();
  const payout = await insertPayout(tx, {
    id: newId('payout'), merchant_id: input.settings.merchant_id, amount: input.amount, currency: input.settings.currency,
    method: input.method, schedule_key: input.scheduleKey, bank_account: input.settings.bank_account,
  }, now);
  if (payout === null) return null;
  const posted = await postEntry(tx, payoutEntry({ eventId: payout.id, merchantId: payout.merchant_id, amount: money(input.amount, payout.currency) }), { clock: ctx.clock });
  if (!posted.ok) {
    assert(posted.rejection === 'insufficient_balance', `payout entry: ${posted.rejection}`);
    throw new ClearwayError('payout_exceeds_available', `The payout of ${input.amount} is more than the available balance.`, { param: 'amount' });
  }
  await appendEvents(tx, [{ merchantId: payout.merchant_id, type: 'payout.created', objectId: payout.id, payload: { payout_id: payout.id, merchant_id: payout.merchant_id, amount: Number(payout.amount), currency: payout.currency, status: 'created', bank: null } }], now);
  return payout;
}

/** POST /v1/payouts: a manual payout of `amount`, or of the whole available balance. */
export async function createManualPayout(ctx: AppContext, merchantId: string, currency: string, amount: bigint | undefined): Promise<PayoutRow> {
  return ctx.db.transaction(async (tx) => {
    const settings = await readPayoutSettings(tx, merchantId);
    if (settings === null) throw new ClearwayError('payout_settings_missing', 'Set the payout settings first: PUT /v1/payout_settings.');
    if (settings.currency !== currency) throw new ClearwayError('payout_currency_mismatch', `Payouts are in ${settings.currency}, the currency of the payout settings.`, { param: 'currency' });
    const available = await availableBalance(tx, merchantId, currency);
    const decided = manualAmount(amount, available, BigInt(settings.minimum_amount));
    if (!decided.ok) {
      const message = decided.rejection === 'payout_exceeds_available' ? `Available: ${available} ${currency}.` : `The minimum payout is ${settings.minimum_amount} ${currency}.`;
      throw new ClearwayError(decided.rejection, message, { param: 'amount' });
    }
    const payout = await insertWithEntry(tx, ctx, { settings, amount: decided.amount, method: 'manual', scheduleKey: null });
    assert(payout !== null, 'a manual payout has no schedule key to collide on');
    return payout;
  });
}

/**
 * The scheduler: for every merchant on a daily or weekly schedule whose day it is, one payout of
 * the whole available balance if it reaches the minimum. The schedule key (unique per merchant)
 * makes it safe in several processes and on re-runs. Returns the payouts created.
 */
export async function schedulePayouts(ctx: AppContext): Promise<number> {
  const now = ctx.clock.now();
  let created = 0;
  let after = '';
  for (;;) {
    const page = await scheduledSettings(ctx.db, after, payoutLimits.schedule_batch_max);
    for (const settings of page) {
      const key = scheduleKeyFor(settings, now);
      if (key === null) continue;
      const made = await ctx.db.transaction(async (tx) => {
        const { rows } = await tx.query('SELECT 1 FROM payouts WHERE merchant_id = $1 AND schedule_key = $2', [settings.merchant_id, key]);
        if (rows.length > 0) return null;
        const due = scheduledAmount(await availableBalance(tx, settings.merchant_id, settings.currency), BigInt(settings.minimum_amount));
        if (!due.due) return null;
        return insertWithEntry(tx, ctx, { settings, amount: due.amount, method: settings.schedule as 'daily' | 'weekly', scheduleKey: key });
      }).catch((error: unknown) => {
        if (error instanceof ClearwayError && error.code === 'payout_exceeds_available') return null; // the balance moved meanwhile: next run
        throw error;
      });
      if (made !== null) created += 1;
    }
    if (page.length < payoutLimits.schedule_batch_max) return created;
    after = page[page.length - 1]!.merchant_id;
  }
}
