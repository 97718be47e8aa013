// Recording what a bank said about an attempt: one transaction that moves the attempt and its
// payout through their transition tables, posts the ledger entries of the move and appends the
// outbox events. Every source of news (the synchronous answer, a query, a webhook, a status
// file) comes through here; a repeat of what is already recorded changes nothing, and the
// ledger's event ids make a replayed entry impossible.
import type { Queryable } from '../db/database.ts';
import type { AppContext } from '../http/context.ts';
import { assert } from '../kernel/errors.ts';
import { money } from '../kernel/money.ts';
import { payoutEntry, payoutPaidEntry, payoutReturnEntry, reversalEntry, type EntryDraft } from '../ledger/domain/entries.ts';
import { loadEntryByEvent, postEntry } from '../ledger/journal.ts';
import { appendEvents, type EventType } from '../outbox/outbox.ts';
import type { BankResult } from './banks/contract.ts';
import { payoutEventFor, transitionPayout, transitionPayoutAttempt, type PayoutAttemptEvent, type PayoutEvent, type PayoutStatus } from './domain/payout-state.ts';
import type { PayoutBanks } from './configure.ts';
import { findPayoutAttempt, lockPayout, updatePayout, updatePayoutAttempt, type PayoutAttemptRow, type PayoutRow } from './repository.ts';

const attemptEventOf: Readonly<Record<BankResult['status'], PayoutAttemptEvent>> = { accepted: 'bank_accepted', paid: 'bank_paid', rejected: 'bank_rejected', returned: 'bank_returned' };

/** The payout events that lead from `from` to where `event` points (a bank may skip a step we did not see). */
function payoutPath(from: PayoutStatus, event: PayoutEvent): PayoutEvent[] {
  if (event === 'paid' && from === 'created') return ['submitted', 'paid'];
  if (event === 'returned' && from === 'created') return ['submitted', 'paid', 'returned'];
  if (event === 'returned' && from === 'submitted') return ['paid', 'returned'];
  if (event === 'failed' && from === 'created') return ['failed'];
  return [event];
}

function payload(payout: PayoutRow, status: PayoutStatus, bank: string | null): Record<string, unknown> {
  return { payout_id: payout.id, merchant_id: payout.merchant_id, amount: Number(payout.amount), currency: payout.currency, status, bank };
}

/** The ledger entry that a payout's arrival in `status` posts (at most one per status). */
async function entryFor(tx: Queryable, payout: PayoutRow, status: PayoutStatus, bank: string | null): Promise<EntryDraft | null> {
  const amount = money(BigInt(payout.amount), payout.currency);
  switch (status) {
    case 'created':
      return payoutEntry({ eventId: payout.id, merchantId: payout.merchant_id, amount });
    case 'submitted':
      return null;
    case 'paid':
      assert(bank !== null, 'payout paid by a bank');
      return payoutPaidEntry({ eventId: `${payout.id}:paid`, merchantId: payout.merchant_id, amount, bank });
    case 'returned':
      assert(bank !== null, 'payout returned by a bank');
      return payoutReturnEntry({ eventId: `${payout.id}:return`, merchantId: payout.merchant_id, amount, bank });
    case 'failed': {
      const original = await loadEntryByEvent(tx, payout.id);
      assert(original !== undefined, `payout ${payout.id} has its payout entry`);
      return reversalEntry(original, `${payout.id}:failed`);
    }
  }
}

/** Moves a locked payout along `events`, posting and announcing each arrival. */
export async function movePayout(tx: Queryable, ctx: AppContext, payout: PayoutRow, events: readonly PayoutEvent[], change: Parameters<typeof updatePayout>[2]): Promise<PayoutRow> {
  let status = payout.status;
  const outbox: { merchantId: string; type: EventType; objectId: string; payload: unknown }[] = [];
  const bank = change.bank ?? payout.bank;
  for (const event of events) {
    const next = transitionPayout(status, event);
    assert(next.ok, `movePayout: ${next.ok ? '' : next.rejection}`);
    if (next.state === status) continue;
    status = next.state;
    const entry = await entryFor(tx, payout, status, bank);
    if (entry !== null) {
      const posted = await postEntry(tx, entry, { clock: ctx.clock });
      assert(posted.ok, `movePayout: the ${status} entry of ${payout.id} posts (${posted.ok ? '' : posted.rejection})`);
    }
    outbox.push({ merchantId: payout.merchant_id, type: `payout.${status}` as EventType, objectId: payout.id, payload: payload(payout, status, bank) });
  }
  const now = ctx.clock.now();
  const updated = await updatePayout(tx, payout, { ...change, status }, now);
  await appendEvents(tx, outbox, now);
  return updated;
}

export interface Recorded {
  readonly changed: boolean;
  readonly payout: PayoutRow | null;
}

/** Applies a bank's word about one attempt. The result must already be checked against the attempt (amount, currency). */
export async function recordBankResult(ctx: AppContext, banks: PayoutBanks, result: BankResult): Promise<Recorded> {
  const known = await findPayoutAttempt(ctx.db, result.attemptId);
  if (known === null) return { changed: false, payout: null };
  assert(result.amount === BigInt(known.amount) && result.currency === known.currency, 'recordBankResult: a result checked against its attempt');
  return ctx.db.transaction(async (tx) => {
    const payout = await lockPayout(tx, known.payout_id);
    const attempt = await findPayoutAttempt(tx, known.id, true);
    assert(payout !== null && attempt !== null, 'recordBankResult: the payout and attempt exist');
    const events: PayoutAttemptEvent[] = result.status === 'returned' && (attempt.status === 'created' || attempt.status === 'submitted') ? ['bank_paid', 'bank_returned'] : [attemptEventOf[result.status]];
    let status = attempt.status;
    for (const event of events) {
      const next = transitionPayoutAttempt(status, event);
      if (!next.ok) {
        ctx.logger.warn({ attempt_id: attempt.id, rejection: next.rejection }, 'payout attempt: bank news outside the transition table; nothing changed');
        return { changed: false, payout };
      }
      status = next.state;
    }
    if (status === attempt.status) return { changed: false, payout };
    const now = ctx.clock.now();
    const failure = status === 'failed' ? { failure_code: 'bank_rejected', failure_message: result.reason ?? 'rejected by the bank' } : {};
    await updatePayoutAttempt(tx, attempt.id, { status, bank_reference: result.bankReference, ...failure }, now);
    return { changed: true, payout: await movePayoutFor(tx, ctx, banks, payout, attempt, status, result.reason) };
  });
}

async function movePayoutFor(tx: Queryable, ctx: AppContext, banks: PayoutBanks, payout: PayoutRow, attempt: PayoutAttemptRow, status: PayoutAttemptRow['status'], reason: string | null): Promise<PayoutRow> {
  const { rows } = await tx.query<{ bank: string }>("SELECT bank FROM payout_attempts WHERE payout_id = $1 AND (status = 'failed' OR id = $2)", [payout.id, attempt.id]);
  const banksLeft = banks.order.some((bank) => !rows.some((row) => row.bank === bank));
  const event = payoutEventFor(status, banksLeft);
  const now = ctx.clock.now();
  if (event === null) {
    // A definite failure with a bank left: the worker makes the next attempt now.
    return updatePayout(tx, payout, { next_action_at: now }, now);
  }
  const change: Parameters<typeof updatePayout>[2] = {
    bank: attempt.bank,
    next_action_at: new Date(now.getTime() + banks.timings.status_poll_ms),
    ...(event === 'failed' ? { failure_code: 'all_banks_failed', failure_message: reason ?? 'every bank refused the payout' } : {}),
    ...(event === 'returned' ? { return_reason: reason ?? 'returned' } : {}),
  };
  return movePayout(tx, ctx, payout, payoutPath(payout.status, event), change);
}
