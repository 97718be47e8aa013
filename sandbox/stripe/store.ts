import { sandboxLimits } from './limits.ts';
import type { ChargeRecord, PaymentIntentRecord, RefundRecord } from './objects.ts';

// The sandbox's whole state, in memory, every map bounded (oldest evicted first).

/** A Map that forgets its oldest entry when it grows past `max`. */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  evicted = 0;
  constructor(
    private readonly max: number,
    private readonly onEvict: (key: K, value: V) => void = () => {},
  ) {
    if (!(Number.isInteger(max) && max > 0)) throw new Error('BoundedMap: max must be a positive integer');
  }
  get size(): number {
    return this.map.size;
  }
  get(key: K): V | undefined {
    return this.map.get(key);
  }
  has(key: K): boolean {
    return this.map.has(key);
  }
  set(key: K, value: V): void {
    this.map.set(key, value);
    while (this.map.size > this.max) {
      const oldest = this.map.keys().next();
      if (oldest.done === true) break;
      const evictedValue = this.map.get(oldest.value) as V;
      this.map.delete(oldest.value);
      this.evicted += 1;
      this.onEvict(oldest.value, evictedValue);
    }
  }
  delete(key: K): void {
    this.map.delete(key);
  }
  values(): IterableIterator<V> {
    return this.map.values();
  }
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }
}

export interface LedgerRow {
  readonly out_trade_no: string;
  charged: number;
  refunded: number;
}

export class SandboxStore {
  readonly charges: BoundedMap<string, ChargeRecord>;
  readonly refunds: BoundedMap<string, RefundRecord>;
  readonly ledger = new BoundedMap<string, LedgerRow>(sandboxLimits.ledger_rows_max);
  readonly paymentIntents: BoundedMap<string, PaymentIntentRecord>;
  /** metadata.out_trade_no -> PaymentIntent ids (the search index). */
  private readonly byTradeNumber = new Map<string, Set<string>>();

  constructor(capacity: number) {
    // One charge per confirm: a re-confirmed intent leaves its older charges to be evicted by count.
    this.charges = new BoundedMap(capacity);
    this.refunds = new BoundedMap(capacity);
    this.paymentIntents = new BoundedMap(capacity, (id, pi) => {
      if (pi.latest_charge !== null) this.charges.delete(pi.latest_charge);
      const tradeNumber = pi.metadata['out_trade_no'];
      if (tradeNumber !== undefined) this.unindex(tradeNumber, id);
    });
  }

  addPaymentIntent(pi: PaymentIntentRecord): void {
    if (this.paymentIntents.has(pi.id)) throw new Error(`duplicate PaymentIntent id ${pi.id}`);
    this.paymentIntents.set(pi.id, pi);
    const tradeNumber = pi.metadata['out_trade_no'];
    if (tradeNumber === undefined) return;
    const ids = this.byTradeNumber.get(tradeNumber) ?? new Set<string>();
    ids.add(pi.id);
    this.byTradeNumber.set(tradeNumber, ids);
  }

  paymentIntentsByTradeNumber(tradeNumber: string): PaymentIntentRecord[] {
    const ids = this.byTradeNumber.get(tradeNumber) ?? new Set<string>();
    return [...ids].map((id) => this.paymentIntents.get(id)).filter((pi): pi is PaymentIntentRecord => pi !== undefined);
  }

  private unindex(tradeNumber: string, id: string): void {
    const ids = this.byTradeNumber.get(tradeNumber);
    if (ids === undefined) return;
    ids.delete(id);
    if (ids.size === 0) this.byTradeNumber.delete(tradeNumber);
  }

  recordCharged(ledgerKey: string, amount: number): void {
    if (!(Number.isSafeInteger(amount) && amount > 0)) throw new Error('recordCharged: amount must be a positive integer');
    this.ledgerRow(ledgerKey).charged += amount;
  }

  recordRefunded(ledgerKey: string, amount: number): void {
    if (!(Number.isSafeInteger(amount) && amount > 0)) throw new Error('recordRefunded: amount must be a positive integer');
    const row = this.ledgerRow(ledgerKey);
    row.refunded += amount;
    // Once rows were evicted, a refund may land on a fresh row; before that, this is an invariant.
    if (this.ledger.evicted === 0 && row.refunded > row.charged) throw new Error(`ledger: ${ledgerKey} refunded more than charged`);
  }

  private ledgerRow(ledgerKey: string): LedgerRow {
    const existing = this.ledger.get(ledgerKey);
    if (existing !== undefined) return existing;
    const row: LedgerRow = { out_trade_no: ledgerKey, charged: 0, refunded: 0 };
    this.ledger.set(ledgerKey, row);
    return row;
  }

  ledgerRows(): { out_trade_no: string; charged: number; refunded: number }[] {
    return [...this.ledger.values()].map((row) => ({ out_trade_no: row.out_trade_no, charged: row.charged, refunded: row.refunded }));
  }
}
