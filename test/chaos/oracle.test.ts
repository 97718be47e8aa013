// The chaos oracle must not pass vacuously: each kind of wrong books it exists to catch is caught.
import { describe, expect, it } from 'vitest';
import { auditBooks, type Books, type LedgerRow } from './oracle.ts';

/**
 * One order paid by its second payment on card_b (200 of it refunded by the merchant); its first
 * payment failed on card_a after a late success refunded in full. A second order, unpaid.
 */
function cleanBooks(): Books {
  return {
    orders: [{ id: 'ord_1', status: 'paid', amount_total: 500, amount_refunded: 200 }, { id: 'ord_2', status: 'pending_payment', amount_total: 70, amount_refunded: 0 }],
    payments: [
      { id: 'pay_1', order_id: 'ord_1', status: 'failed', method: 'card', channel: 'card_a', amount: 500, amount_captured: 0, amount_refunded: 0 },
      { id: 'pay_2', order_id: 'ord_1', status: 'succeeded', method: 'card', channel: 'card_b', amount: 500, amount_captured: 500, amount_refunded: 200 },
      { id: 'pay_3', order_id: 'ord_2', status: 'canceled', method: 'alipay', channel: 'alipay', amount: 70, amount_captured: 0, amount_refunded: 0 },
    ],
    attempts: [
      { id: 'att_1', payment_id: 'pay_1', channel: 'card_a', status: 'succeeded', out_trade_no: 'att_1', amount: 500 },
      { id: 'att_2', payment_id: 'pay_2', channel: 'card_b', status: 'succeeded', out_trade_no: 'att_2', amount: 500 },
      { id: 'att_3', payment_id: 'pay_3', channel: 'alipay', status: 'failed', out_trade_no: 'att_3', amount: 70 },
    ],
    lateSuccessRefunds: [{ attempt_id: 'att_1', channel: 'card_a', status: 'succeeded', amount: 500 }],
    refunds: [{ id: 'ref_1', payment_id: 'pay_2', status: 'succeeded', amount: 200 }, { id: 'ref_2', payment_id: 'pay_2', status: 'failed', amount: 300 }],
    ledgers: new Map<string, LedgerRow[]>([
      ['card_a', [{ out_trade_no: 'att_1', charged: 500, refunded: 500 }]],
      ['card_b', [{ out_trade_no: 'att_2', charged: 500, refunded: 200 }]],
      ['alipay', []],
    ]),
  };
}

function withLedger(books: Books, channel: string, rows: LedgerRow[]): Books {
  return { ...books, ledgers: new Map([...books.ledgers, [channel, rows]]) };
}

describe('the chaos oracle', () => {
  it('passes clean books, a refunded late success included', () => {
    expect(auditBooks(cleanBooks())).toEqual({ violations: [], waiting: [], refundedLateSuccesses: 1 });
  });

  it('catches an out_trade_no charged twice', () => {
    const books = withLedger(cleanBooks(), 'card_b', [{ out_trade_no: 'att_2', charged: 1_000, refunded: 200 }]);
    expect(auditBooks(books).violations.join('\n')).toMatch(/charged att_2 1000, the attempt is for 500/);
  });

  it('catches a late success not refunded: one order charged on two attempts', () => {
    const books = { ...withLedger(cleanBooks(), 'card_a', [{ out_trade_no: 'att_1', charged: 500, refunded: 0 }]), lateSuccessRefunds: [{ attempt_id: 'att_1', channel: 'card_a', status: 'pending', amount: 500 }] };
    const violations = auditBooks(books).violations.join('\n');
    expect(violations).toMatch(/late-success refund of attempt att_1 on card_a is pending/);
    expect(violations).toMatch(/payment pay_1: late success card_a\/att_1 refunded 0 of 500/);
    expect(violations).toMatch(/order ord_1 \(paid, 500\) has 800 kept by the channels/);
  });

  it('catches a merchant refund the channel made twice, and one left pending', () => {
    const twice = withLedger(cleanBooks(), 'card_b', [{ out_trade_no: 'att_2', charged: 500, refunded: 400 }]);
    expect(auditBooks(twice).violations.join('\n')).toMatch(/payment pay_2 refunded 200 to the merchant's customer, card_b refunded 400/);
    const pending = { ...cleanBooks(), refunds: [{ id: 'ref_1', payment_id: 'pay_2', status: 'pending', amount: 200 }] };
    expect(auditBooks(pending).violations.join('\n')).toMatch(/refund ref_1 of payment pay_2 is still pending/);
  });

  it('catches money a channel took that Clearway does not know of', () => {
    const books = withLedger(cleanBooks(), 'alipay', [{ out_trade_no: 'att_3', charged: 70, refunded: 0 }]);
    const violations = auditBooks(books).violations.join('\n');
    expect(violations).toMatch(/alipay charged att_3 but its attempt is failed/);
    expect(violations).toMatch(/payment pay_3 is canceled but alipay charged att_3 with no late-success refund/);
  });

  it('catches a charge on no attempt of ours, and a succeeded attempt the channel never charged', () => {
    const books = withLedger(cleanBooks(), 'card_b', [{ out_trade_no: 'att_999', charged: 500, refunded: 0 }]);
    const violations = auditBooks(books).violations.join('\n');
    expect(violations).toMatch(/card_b charged 500 on att_999, which is no attempt of ours/);
    expect(violations).toMatch(/attempt att_2 is succeeded but card_b charged 0 of 500/);
  });

  it('catches an order paid without a succeeded payment, and one left paying with no live payment', () => {
    const books = cleanBooks();
    const orders = [{ id: 'ord_1', status: 'paying', amount_total: 500, amount_refunded: 200 }, { id: 'ord_2', status: 'paid', amount_total: 70, amount_refunded: 0 }];
    const violations = auditBooks({ ...books, orders }).violations.join('\n');
    expect(violations).toMatch(/order ord_1 is paying with 1 succeeded payment/);
    expect(violations).toMatch(/order ord_2 is paid with 0 succeeded payment/);
  });

  it('hands back payments that are not final, with their open attempt, for the channel to vouch for', () => {
    const books = cleanBooks();
    const payments = books.payments.map((p) => (p.id === 'pay_3' ? { ...p, status: 'requires_action' } : p));
    const attempts = books.attempts.map((a) => (a.id === 'att_3' ? { ...a, status: 'requires_action' } : a));
    const orders = books.orders.map((o) => (o.id === 'ord_2' ? { ...o, status: 'paying' } : o));
    const audit = auditBooks({ ...books, payments, attempts, orders });
    expect(audit.violations).toEqual([]);
    expect(audit.waiting.map((w) => [w.payment.id, w.attempt?.id])).toEqual([['pay_3', 'att_3']]);
  });
});
