// The payout workers, safe in every process at once:
//   submitPayouts     claims due payouts (FOR UPDATE SKIP LOCKED, then a lease: next_action_at
//                     pushed past lease_ms) and moves each one step: a first attempt at the
//                     first bank, a send (again, with the same idempotency key, after a
//                     transient error, with doubling backoff), a query of a submitted attempt,
//                     a cancel once the sends run out (so that failing over can never pay
//                     twice), a new attempt at the next bank after a definite failure, or the
//                     payout's failure when no bank is left.
//   pollBankStatusFiles  reads the status files of file-exchange banks after a cursor and
//                     applies them (applying twice changes nothing, so racing pollers are safe).
// No transaction is open while a bank is called: the attempt is written first, the outcome after.
import type { AppContext } from '../http/context.ts';
import { assert } from '../kernel/errors.ts';
import { newId } from '../kernel/ids.ts';
import { matchesInstruction, type BankResult, type PayoutBankConnector, type PayoutInstruction } from './banks/contract.ts';
import { payoutBanksOf, type PayoutBanks } from './configure.ts';
import { liveAttemptStatuses, retryDelayMs } from './domain/payout-state.ts';
import { payoutLimits } from './limits.ts';
import { movePayout, recordBankResult } from './record.ts';
import { attemptsOfPayouts, insertPayoutAttempt, lockPayout, updatePayoutAttempt, type PayoutAttemptRow, type PayoutRow } from './repository.ts';

async function claimDuePayouts(ctx: AppContext, banks: PayoutBanks): Promise<PayoutRow[]> {
  return ctx.db.transaction(async (tx) => {
    const now = ctx.clock.now();
    const { rows } = await tx.query<PayoutRow>(
      "SELECT * FROM payouts WHERE status IN ('created', 'submitted') AND next_action_at <= $1 ORDER BY next_action_at LIMIT $2 FOR UPDATE SKIP LOCKED",
      [now, payoutLimits.claim_batch_max],
    );
    if (rows.length > 0) {
      await tx.query('UPDATE payouts SET next_action_at = $2, version = version + 1 WHERE id = ANY($1::text[])', [rows.map((r) => r.id), new Date(now.getTime() + banks.timings.lease_ms)]);
    }
    return rows;
  });
}

export async function submitPayouts(ctx: AppContext, banks: PayoutBanks = payoutBanksOf(ctx)): Promise<number> {
  const payouts = await claimDuePayouts(ctx, banks);
  const attempts = await attemptsOfPayouts(ctx.db, payouts.map((p) => p.id));
  for (const payout of payouts) {
    try {
      await advancePayout(ctx, banks, payout, attempts.get(payout.id) ?? []);
    } catch (error) {
      ctx.logger.error({ err: error, payout_id: payout.id }, 'payout: step failed; the lease ends and it is tried again');
    }
  }
  return payouts.length;
}

function instructionOf(payout: PayoutRow, attempt: PayoutAttemptRow): PayoutInstruction {
  return { attemptId: attempt.id, payoutId: payout.id, amount: BigInt(attempt.amount), currency: attempt.currency, account: payout.bank_account, createdAt: new Date(attempt.created_at) };
}

async function advancePayout(ctx: AppContext, banks: PayoutBanks, payout: PayoutRow, attempts: readonly PayoutAttemptRow[]): Promise<void> {
  const live = attempts.filter((a) => liveAttemptStatuses.has(a.status));
  assert(live.length <= 1, `payout ${payout.id} has at most one live attempt`);
  let attempt = live[0];
  if (attempt === undefined) {
    const bank = banks.order.find((id) => !attempts.some((a) => a.bank === id));
    if (bank === undefined) return failPayout(ctx, banks, payout);
    const made = await ctx.db.transaction((tx) => insertPayoutAttempt(tx, { id: newId('payout_attempt'), payout_id: payout.id, merchant_id: payout.merchant_id, bank, amount: BigInt(payout.amount), currency: payout.currency }, ctx.clock.now()));
    if (made === null) return; // a concurrent worker made it
    attempt = made;
  }
  const connector = banks.connectors.get(attempt.bank);
  if (connector === undefined) return; // a bank no longer configured: left for a person
  if (attempt.status === 'created') return sendAttempt(ctx, banks, connector, payout, attempt);
  if (attempt.status === 'submitted') return checkAttempt(ctx, banks, connector, payout, attempt);
}

/** Sends an attempt (first time or again, always under its own id as the key) and records what came back. */
async function sendAttempt(ctx: AppContext, banks: PayoutBanks, connector: PayoutBankConnector, payout: PayoutRow, attempt: PayoutAttemptRow): Promise<void> {
  const instruction = instructionOf(payout, attempt);
  const outcome = await connector.submit(instruction);
  await ctx.db.transaction((tx) => updatePayoutAttempt(tx, attempt.id, { sendsAdded: 1 }, ctx.clock.now()));
  const sends = attempt.sends + 1;
  if (outcome.kind === 'result') return recordChecked(ctx, banks, instruction, outcome);
  ctx.logger.warn({ payout_id: payout.id, attempt_id: attempt.id, bank: attempt.bank, sends, reason: outcome.reason, outcome: outcome.kind }, 'payout: transient bank error; sent again later with the same key');
  if (sends >= banks.timings.attempt_sends_max && connector.cancel) {
    const cancel = await connector.cancel(instruction);
    if (cancel.kind === 'canceled') {
      return recordChecked(ctx, banks, instruction, { kind: 'result', attemptId: attempt.id, status: 'rejected', bankReference: null, amount: instruction.amount, currency: instruction.currency, reason: `canceled after ${sends} sends: ${outcome.reason}` });
    }
    if (cancel.kind === 'result') return recordChecked(ctx, banks, instruction, cancel);
  }
  await reschedule(ctx, payout, retryDelayMs(Math.min(sends, 30), banks.timings.retry_delay_ms_first, banks.timings.retry_delay_ms_max));
}

/** A submitted attempt: asked about (API banks), or waited on (file banks: the poller brings the news). */
async function checkAttempt(ctx: AppContext, banks: PayoutBanks, connector: PayoutBankConnector, payout: PayoutRow, attempt: PayoutAttemptRow): Promise<void> {
  if (connector.query) {
    const instruction = instructionOf(payout, attempt);
    const outcome = await connector.query(instruction);
    if (outcome.kind === 'result') return recordChecked(ctx, banks, instruction, outcome);
  }
  await reschedule(ctx, payout, banks.timings.status_poll_ms);
}

async function recordChecked(ctx: AppContext, banks: PayoutBanks, instruction: Pick<PayoutInstruction, 'attemptId' | 'amount' | 'currency'>, result: BankResult): Promise<void> {
  if (!matchesInstruction(result, instruction)) {
    ctx.logger.error({ attempt_id: instruction.attemptId, answered: `${result.attemptId} ${result.amount} ${result.currency}` }, 'payout: the bank answered for another instruction; nothing changed');
    return;
  }
  const recorded = await recordBankResult(ctx, banks, result);
  if (!recorded.changed && recorded.payout !== null && (recorded.payout.status === 'created' || recorded.payout.status === 'submitted')) {
    await reschedule(ctx, recorded.payout, banks.timings.status_poll_ms);
  }
}

async function reschedule(ctx: AppContext, payout: PayoutRow, delayMs: number): Promise<void> {
  const now = ctx.clock.now();
  await ctx.db.query("UPDATE payouts SET next_action_at = $2 WHERE id = $1 AND status IN ('created', 'submitted')", [payout.id, new Date(now.getTime() + delayMs)]);
}

async function failPayout(ctx: AppContext, banks: PayoutBanks, claimed: PayoutRow): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const payout = await lockPayout(tx, claimed.id);
    if (payout === null || (payout.status !== 'created' && payout.status !== 'submitted')) return;
    await movePayout(tx, ctx, payout, ['failed'], { failure_code: 'all_banks_failed', failure_message: 'every bank refused the payout', next_action_at: new Date(ctx.clock.now().getTime() + banks.timings.status_poll_ms) });
  });
}

/** Reads every file bank's new status files and applies them; returns the updates applied. */
export async function pollBankStatusFiles(ctx: AppContext, banks: PayoutBanks = payoutBanksOf(ctx)): Promise<number> {
  let applied = 0;
  for (const [bank, connector] of banks.connectors) {
    if (!connector.pollStatus) continue;
    const now = ctx.clock.now();
    await ctx.db.query("INSERT INTO payout_bank_cursors (bank, last_file, updated_at) VALUES ($1, '', $2) ON CONFLICT (bank) DO NOTHING", [bank, now]);
    const { rows } = await ctx.db.query<{ last_file: string }>('SELECT last_file FROM payout_bank_cursors WHERE bank = $1', [bank]);
    const cursor = rows[0]!.last_file;
    const poll = await connector.pollStatus(cursor);
    if (poll.kind !== 'files') {
      ctx.logger.warn({ bank, reason: poll.reason }, 'payout: status files not read; tried again next run');
      continue;
    }
    applied += await applyBankUpdates(ctx, banks, bank, poll.updates);
    if (poll.cursor > cursor) await ctx.db.query('UPDATE payout_bank_cursors SET last_file = $2, updated_at = $3 WHERE bank = $1 AND last_file < $2', [bank, poll.cursor, ctx.clock.now()]);
  }
  return applied;
}

/** Applies status updates from a bank (files or notifications): each checked against its attempt first. */
export async function applyBankUpdates(ctx: AppContext, banks: PayoutBanks, bank: string, updates: readonly BankResult[]): Promise<number> {
  let applied = 0;
  for (const update of updates) {
    const { rows } = await ctx.db.query<PayoutAttemptRow>('SELECT * FROM payout_attempts WHERE id = $1', [update.attemptId]);
    const attempt = rows[0];
    if (attempt === undefined || attempt.bank !== bank) {
      ctx.logger.warn({ bank, attempt_id: update.attemptId }, 'payout: bank news about an attempt we do not have');
      continue;
    }
    if (update.amount !== BigInt(attempt.amount) || update.currency !== attempt.currency) {
      ctx.logger.error({ bank, attempt_id: attempt.id, reported: `${update.amount} ${update.currency}` }, 'payout: bank news with another amount or currency; nothing changed');
      continue;
    }
    if ((await recordBankResult(ctx, banks, update)).changed) applied += 1;
  }
  return applied;
}
