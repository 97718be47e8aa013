// Properties of the pure posting builders, over random captures and refund sequences.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { money } from '../../kernel/money.ts';
import { checkLedgerLimits } from '../limits.ts';
import { account, accountId, feeRevenueAccount, parseAccountId, slotAccountId, slotFor } from './accounts.ts';
import { captureEntry, isBalanced, netOf, refundEntry, reversalEntry, totalsByCurrency, type PostedEntry } from './entries.ts';

const currencies = ['USD', 'JPY', 'KWD', 'EUR'];
const captureArb = fc
  .record({
    currency: fc.constantFrom(...currencies),
    gross: fc.bigInt({ min: 1n, max: 1_000_000_000_000n }),
    feeBps: fc.bigInt({ min: 0n, max: 10_000n }),
    merchant: fc.stringMatching(/^mch_[a-z0-9]{1,12}$/),
  })
  .map(({ gross, feeBps, ...rest }) => ({ ...rest, gross, fee: (gross * feeBps) / 10_000n }));

describe('ledger posting builders', () => {
  it('a capture balances, and fee plus the merchant net is the gross', () => {
    fc.assert(
      fc.property(captureArb, ({ currency, gross, fee, merchant }) => {
        const entry = captureEntry({ eventId: 'pay_x', merchantId: merchant, channel: 'card_a', gross: money(gross, currency), fee: money(fee, currency) });
        expect(isBalanced(entry.postings)).toBe(true);
        const merchantNet = -netOf(entry, account('merchant_pending', merchant, currency));
        const feeNet = -netOf(entry, feeRevenueAccount(currency));
        expect(merchantNet + feeNet).toBe(gross);
        expect(netOf(entry, account('channel_receivable', 'card_a', currency))).toBe(gross);
      }),
    );
  });

  it('refunds balance, never exceed the gross, and return the fee exactly once refunded in full', () => {
    fc.assert(
      fc.property(
        captureArb,
        fc.array(fc.bigInt({ min: -5n, max: 1_000_000_000_000n }), { minLength: 1, maxLength: 12 }),
        fc.constantFrom('proportional' as const, 'retained' as const),
        ({ currency, gross, fee, merchant }, wanted, feePolicy) => {
          let refunded = 0n;
          let feeBack = 0n;
          const refundOnce = (amount: bigint, index: number) =>
            refundEntry({
              eventId: `ref_${index}`, merchantId: merchant, channel: 'card_a', gross: money(gross, currency), fee: money(fee, currency),
              refundedBefore: money(refunded, currency), refund: money(amount, currency), feePolicy, merchantAccount: 'merchant_pending',
            });
          const apply = (amount: bigint, index: number) => {
            const result = refundOnce(amount, index);
            if (amount <= 0n) expect(result).toEqual({ ok: false, rejection: 'refund_amount_not_positive' });
            else if (refunded + amount > gross) expect(result).toEqual({ ok: false, rejection: 'refund_exceeds_captured' });
            if (!result.ok) return;
            expect(isBalanced(result.entry.postings)).toBe(true);
            expect(result.feeReturned.amount >= 0n && result.feeReturned.amount <= amount).toBe(true);
            expect(netOf(result.entry, account('channel_receivable', 'card_a', currency))).toBe(-amount);
            refunded += amount;
            feeBack += result.feeReturned.amount;
          };
          wanted.forEach(apply);
          expect(refunded <= gross).toBe(true);
          expect(feeBack <= fee).toBe(true);
          if (refunded < gross) apply(gross - refunded, wanted.length); // refund the rest
          expect(refunded).toBe(gross);
          expect(feeBack).toBe(feePolicy === 'proportional' ? fee : 0n);
        },
      ),
    );
  });

  it('a reversal negates every posting on the same rows', () => {
    fc.assert(
      fc.property(captureArb, fc.string({ minLength: 1, maxLength: 40 }), ({ currency, gross, fee, merchant }, eventId) => {
        const entry = captureEntry({ eventId, merchantId: merchant, channel: 'card_a', gross: money(gross, currency), fee: money(fee, currency) });
        const posted: PostedEntry = {
          id: 'jrn_0000000000000000000000aa', eventId, kind: 'capture', merchantId: merchant, reverses: null, createdAt: new Date(0),
          postings: entry.postings.map((p) => ({ ...p, slot: slotFor(p.account, eventId) })),
        };
        const reversal = reversalEntry(posted, `reverse_${eventId}`);
        expect(reversal.reverses).toBe(posted.id);
        expect(reversal.postings.map((p) => [p.slot, p.amount])).toEqual(posted.postings.map((p) => [p.slot, -p.amount]));
        for (const total of totalsByCurrency([...posted.postings, ...reversal.postings]).values()) expect(total).toBe(0n);
      }),
    );
  });

  it('account ids round-trip, and slots spread over the fee account', () => {
    const ref = feeRevenueAccount('USD');
    const seen = new Set<number>();
    for (let i = 0; i < 400; i++) {
      const slot = slotFor(ref, `pay_${i}`);
      seen.add(slot);
      const id = slotAccountId(ref, slot);
      expect(parseAccountId(id)).toEqual({ account: ref, slot });
    }
    expect(seen.size).toBe(16);
    expect(slotFor(account('merchant_available', 'mch_a', 'USD'), 'pay_1')).toBe(0);
    expect(accountId(account('channel_receivable', 'card_a', 'USD'))).toBe('channel_receivable:card_a:USD');
    expect(() => account('fee_revenue', 'mch_a', 'USD')).toThrow(/owned by a platform/);
    expect(() => checkLedgerLimits()).not.toThrow();
  });
});
