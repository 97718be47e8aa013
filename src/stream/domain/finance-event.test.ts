import { describe, expect, it } from 'vitest';
import { dailyIncrements, interpretFinanceEvent, minorUnits, paymentIdNeedingCurrency, type StreamEvent } from './finance-event.ts';

const at = new Date('2026-03-04T23:59:59.999Z');
const event = (type: string, payload: unknown): StreamEvent => ({ id: 'evt_1', merchant_id: 'mch_1', type, payload, created_at: at });
const noCurrency = () => undefined;

describe('finance events', () => {
  it('reads a payment with its fees and journal entry, on the UTC day of the event', () => {
    const read = interpretFinanceEvent(event('payment.succeeded', { payment_id: 'pay_1', amount: '2500', currency: 'USD', fee_amount: '103', channel_fee_amount: '80', journal_entry_id: 'jrn_1' }), noCurrency);
    expect(read).toEqual({
      outcome: 'applied', warnings: [],
      fact: { eventId: 'evt_1', kind: 'payment', merchantId: 'mch_1', currency: 'USD', day: '2026-03-04', objectId: 'pay_1', amount: 2500n, fee: 103n, channelFee: 80n, journalEntryId: 'jrn_1' },
    });
    if (read.outcome === 'applied') expect(dailyIncrements(read.fact)).toMatchObject({ payments_count: 1n, gross_amount: 2500n, fee_amount: 103n, channel_fee_amount: 80n, refunds_count: 0n });
  });

  it('reads missing optional fields as 0 with a warning, and takes a refund\'s currency from its payment', () => {
    const refund = event('refund.succeeded', { refund_id: 're_1', payment_id: 'pay_1', amount: '500' });
    expect(paymentIdNeedingCurrency(refund)).toBe('pay_1');
    const read = interpretFinanceEvent(refund, (id) => (id === 'pay_1' ? 'EUR' : undefined));
    expect(read).toMatchObject({ outcome: 'applied', fact: { kind: 'refund', currency: 'EUR', amount: 500n, fee: 0n }, warnings: ['currency_from_payment', 'missing_fee_returned', 'missing_journal_entry_id'] });
  });

  it('skips what it cannot place and ignores events without money', () => {
    expect(interpretFinanceEvent(event('refund.succeeded', { refund_id: 're_1', payment_id: 'pay_x', amount: '5' }), noCurrency)).toEqual({ outcome: 'skipped', reason: 'missing_currency' });
    expect(interpretFinanceEvent(event('payout.paid', { payout_id: 'po_1', amount: '-5', currency: 'USD' }), noCurrency)).toEqual({ outcome: 'skipped', reason: 'invalid_amount' });
    expect(interpretFinanceEvent(event('payout.paid', { amount: '5', currency: 'USD' }), noCurrency)).toEqual({ outcome: 'skipped', reason: 'missing_object_id' });
    expect(interpretFinanceEvent(event('order.created', {}), noCurrency)).toEqual({ outcome: 'ignored' });
    expect(interpretFinanceEvent(event('settlement.completed', null), noCurrency)).toEqual({ outcome: 'ignored' });
  });

  it('accepts minor units as digit strings or safe integers only', () => {
    expect([minorUnits('12'), minorUnits(12), minorUnits('1.5'), minorUnits(-1), minorUnits(1.5), minorUnits(undefined)]).toEqual([12n, 12n, null, null, null, null]);
  });
});
