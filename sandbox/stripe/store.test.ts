import { describe, expect, it } from 'vitest';
import { IdempotencyStore } from './idempotency.ts';
import type { PaymentIntentRecord } from './objects.ts';
import { BoundedMap, SandboxStore } from './store.ts';

function intent(id: string, out_trade_no: string): PaymentIntentRecord {
  return {
    id, client_secret: `${id}_secret`, amount: 100, currency: 'usd', created: 0, description: null, metadata: { out_trade_no },
    payment_method_types: ['card'], ledger_key: out_trade_no, status: 'succeeded', payment_method: 'pm_card_visa',
    latest_charge: null, last_payment_error: null, amount_received: 100, canceled_at: null, cancellation_reason: null,
  };
}

describe('sandbox state bounds', () => {
  it('BoundedMap forgets its oldest entries', () => {
    const evicted: string[] = [];
    const map = new BoundedMap<string, number>(2, (key) => evicted.push(key));
    map.set('a', 1);
    map.set('b', 2);
    map.set('c', 3);
    expect([...map.entries()]).toEqual([['b', 2], ['c', 3]]);
    expect(evicted).toEqual(['a']);
    expect(map.evicted).toBe(1);
    expect(() => new BoundedMap(0)).toThrow();
  });

  it('an evicted intent leaves the search index; the ledger keeps its row', () => {
    const store = new SandboxStore(2);
    for (const [id, trade] of [['pi_1', 't1'], ['pi_2', 't2'], ['pi_3', 't3']] as const) {
      store.addPaymentIntent(intent(id, trade));
      store.recordCharged(trade, 100);
    }
    expect(store.paymentIntentsByTradeNumber('t1')).toEqual([]);
    expect(store.paymentIntentsByTradeNumber('t3').map((pi) => pi.id)).toEqual(['pi_3']);
    expect(store.ledgerRows().map((row) => row.out_trade_no)).toEqual(['t1', 't2', 't3']);
    expect(() => store.addPaymentIntent(intent('pi_3', 't3'))).toThrow(/duplicate/);
    expect(() => store.recordRefunded('t2', 101)).toThrow(/refunded more/);
  });

  it('idempotency: replay, mismatch, and pruning after the retention period', () => {
    const store = new IdempotencyStore(10);
    const day = 24 * 60 * 60 * 1000;
    store.save('k', 'create {"amount":"1"}', { status: 402, body_json: '{"error":{}}', request_id: 'req_1' }, 0);
    expect(store.lookup('k', 'create {"amount":"1"}', 1)).toEqual({ kind: 'replay', saved: { status: 402, body_json: '{"error":{}}', request_id: 'req_1' } });
    expect(store.lookup('k', 'create {"amount":"2"}', 1)).toEqual({ kind: 'mismatch' });
    expect(store.lookup('other', 'x', 1)).toEqual({ kind: 'new' });
    expect(store.lookup('k', 'create {"amount":"2"}', day + 1)).toEqual({ kind: 'new' });
    expect(() => store.save('same', 'f', { status: 200, body_json: '{}', request_id: 'r' }, 0)).not.toThrow();
    expect(() => store.save('same', 'f', { status: 200, body_json: '{}', request_id: 'r' }, 0)).toThrow(/twice/);
  });
});
