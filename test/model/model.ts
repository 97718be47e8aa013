// The independent model of the money-flow test (issue 4, item 7): plain TypeScript that, from the
// operations run and their observed outcomes (HTTP answers), says what every ledger balance, every
// settlement batch and every sandbox's and bank's own books should be. It imports nothing from
// src/: the fee rules, the price lists, the day windows and the settlement arithmetic are written
// out again here on purpose, from the docs (docs/ledger.md, docs/settlement.md, docs/payouts.md).
//
// Balances are kept as the ledger keeps them: signed, debits minus credits.

// ------------------------------------------------------------------ fees (docs/ledger.md "Fees")

export interface Price {
  readonly percent_bps: number;
  readonly fixed: bigint;
}

/** round(numerator / denominator) HALF_UP, for numerator >= 0, denominator > 0. */
export function divideHalfUp(numerator: bigint, denominator: bigint): bigint {
  if (numerator < 0n || denominator <= 0n) throw new Error(`model: divideHalfUp(${numerator}, ${denominator}) out of domain`);
  return (2n * numerator + denominator) / (2n * denominator);
}

/** gross × bps / 10 000 HALF_UP + fixed, never more than the gross. */
export function feeOf(price: Price, gross: bigint): bigint {
  const fee = divideHalfUp(gross * BigInt(price.percent_bps), 10_000n) + price.fixed;
  return fee > gross ? gross : fee;
}

export type Method = 'card' | 'alipay' | 'wechat_pay';
export type RefundFeePolicy = 'proportional' | 'retained';

export interface PricingRuleSpec {
  readonly method: Method;
  readonly currency?: string;
  readonly percent_bps: number;
  readonly fixed_amount: number;
  readonly refund_fee: RefundFeePolicy;
}

/** The platform's list prices (docs/ledger.md): card 2.9 % + 30, the wallets 1.0 %, refunds proportional. */
export const platformDefaultPrices: Readonly<Record<Method, { price: Price; refund: RefundFeePolicy }>> = {
  card: { price: { percent_bps: 290, fixed: 30n }, refund: 'proportional' },
  alipay: { price: { percent_bps: 100, fixed: 0n }, refund: 'proportional' },
  wechat_pay: { price: { percent_bps: 100, fixed: 0n }, refund: 'proportional' },
};

/**
 * What each sandbox channel charges us: the sandbox accounts' fee schedules (src/channels/configure.ts:
 * card_a, the primary, 1.8 % + 20; card_b, the backup, 2.2 % + 25; the wallets 0.6 %). These are
 * configuration, not a rule: when the sandbox accounts' prices change, change them here too.
 */
export const channelPrices: Readonly<Record<string, Price>> = {
  card_a: { percent_bps: 180, fixed: 20n },
  card_b: { percent_bps: 220, fixed: 25n },
  alipay: { percent_bps: 60, fixed: 0n },
  wechat_pay: { percent_bps: 60, fixed: 0n },
};

/** The first rule naming the method and (if it names one) the currency; else the default. */
export function merchantPrice(rules: readonly PricingRuleSpec[], method: Method, currency: string): { price: Price; refund: RefundFeePolicy } {
  const rule = rules.find((r) => r.method === method && (r.currency === undefined || r.currency === currency));
  return rule === undefined ? platformDefaultPrices[method] : { price: { percent_bps: rule.percent_bps, fixed: BigInt(rule.fixed_amount) }, refund: rule.refund_fee };
}

// ------------------------------------------------------------------ settlement days (docs/settlement.md)

/** The settlement schedules the test gives merchants; all fixed-offset zones, so a day's close is plain arithmetic. */
export const schedules = {
  utc_midnight: { time_zone: 'UTC', cut_off: '00:00', offsetHours: 0, cutOffHours: 0 },
  shanghai_18: { time_zone: 'Asia/Shanghai', cut_off: '18:00', offsetHours: 8, cutOffHours: 18 },
  tokyo_06: { time_zone: 'Asia/Tokyo', cut_off: '06:00', offsetHours: 9, cutOffHours: 6 },
} as const;
export type ScheduleName = keyof typeof schedules;

const hourMs = 3_600_000;
const dayMs = 24 * hourMs;

/** The instant day `date` closes: its cut-off (local), or midnight at its end for 00:00. */
export function dayClose(schedule: ScheduleName, date: string): number {
  const s = schedules[schedule];
  const localMidnight = Date.parse(`${date}T00:00:00Z`);
  const closeLocal = s.cutOffHours === 0 ? localMidnight + dayMs : localMidnight + s.cutOffHours * hourMs;
  return closeLocal - s.offsetHours * hourMs;
}

export function previousDate(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) - dayMs).toISOString().slice(0, 10);
}

// ------------------------------------------------------------------ the books

export interface Txn {
  /** When it succeeded (the ledger entry's created_at, known to the hour: see the test's clock). */
  readonly at: number;
  readonly kind: 'capture' | 'refund';
  /** Positive for a capture's gross, a refund's amount. */
  readonly amount: bigint;
  /** Our fee charged (capture) or returned (refund). */
  readonly fee: bigint;
}

export interface ModelBatch {
  readonly date: string;
  readonly start: number;
  readonly end: number;
  readonly captureCount: number;
  readonly refundCount: number;
  readonly gross: bigint;
  readonly refunds: bigint;
  readonly feesCharged: bigint;
  readonly feesReturned: bigint;
  readonly net: bigint;
  readonly carriedIn: bigint;
  readonly amountSettled: bigint;
  readonly carriedOut: bigint;
}

export interface SettleOutcome {
  readonly merchant: string;
  readonly currency: string | null;
  readonly outcome: 'settled' | 'unchanged' | 'out_of_order' | 'day_not_closed' | 'no_transactions';
  readonly batch: ModelBatch | null;
}

export interface ModelPayment {
  readonly id: string;
  readonly merchant: string;
  readonly method: Method;
  readonly channel: string;
  readonly outTradeNo: string;
  readonly currency: string;
  readonly gross: bigint;
  readonly fee: bigint;
  /** The refund fee policy of the pricing the capture was booked under. */
  readonly refundPolicy: RefundFeePolicy;
  refunded: bigint;
}

export interface ModelPayout {
  readonly id: string;
  readonly merchant: string;
  readonly currency: string;
  readonly amount: bigint;
  final: { status: 'paid' | 'failed' | 'returned'; bank: string | null } | null;
}

const key = (...parts: string[]) => parts.join('|');

export class MoneyModel {
  /** Signed balances by `type|owner|currency`, as the ledger keeps them. */
  readonly balances = new Map<string, bigint>();
  readonly payments = new Map<string, ModelPayment>();
  readonly payouts = new Map<string, ModelPayout>();
  /** Per merchant|currency: its transactions, in the order they succeeded. */
  readonly txns = new Map<string, Txn[]>();
  /** Per merchant|currency: its settled batches by date. */
  readonly batches = new Map<string, Map<string, ModelBatch>>();
  /** Per out_trade_no: what the channel's sandbox should have charged and refunded. */
  readonly channelBooks = new Map<string, { channel: string; charged: bigint; refunded: bigint }>();
  readonly entries = { capture: 0, refund: 0, settlement: 0, payout: 0, payout_paid: 0, payout_return: 0, reversal: 0 };

  constructor(readonly merchantSchedule: (merchant: string) => ScheduleName) {}

  balance(type: string, owner: string, currency: string): bigint {
    return this.balances.get(key(type, owner, currency)) ?? 0n;
  }

  private move(debit: [string, string], credit: [string, string], currency: string, amount: bigint): void {
    if (amount < 0n) throw new Error('model: a negative movement');
    if (amount === 0n) return;
    const d = key(debit[0], debit[1], currency);
    const c = key(credit[0], credit[1], currency);
    this.balances.set(d, (this.balances.get(d) ?? 0n) + amount);
    this.balances.set(c, (this.balances.get(c) ?? 0n) - amount);
  }

  /** What a merchant may at least pay out now (payouts failing or returning later only add to it). */
  availableAtLeast(merchant: string, currency: string): bigint {
    return -this.balance('merchant_available', merchant, currency);
  }

  capture(input: { id: string; merchant: string; method: Method; channel: string; outTradeNo: string; currency: string; gross: bigint; at: number; rules: readonly PricingRuleSpec[] }): ModelPayment {
    const { merchant, channel, currency, gross } = input;
    if (this.payments.has(input.id)) throw new Error(`model: payment ${input.id} captured twice`);
    const pricing = merchantPrice(input.rules, input.method, currency);
    const fee = feeOf(pricing.price, gross);
    const channelPrice = channelPrices[channel];
    if (channelPrice === undefined) throw new Error(`model: no price list for channel ${channel}`);
    const channelFee = feeOf(channelPrice, gross);
    this.move(['channel_receivable', channel], ['merchant_pending', merchant], currency, gross);
    this.move(['merchant_pending', merchant], ['fee_revenue', 'platform'], currency, fee);
    this.move(['channel_fee_expense', channel], ['channel_receivable', channel], currency, channelFee);
    const payment: ModelPayment = { id: input.id, merchant, method: input.method, channel, outTradeNo: input.outTradeNo, currency, gross, fee, refundPolicy: pricing.refund, refunded: 0n };
    this.payments.set(input.id, payment);
    this.txnsOf(merchant, currency).push({ at: input.at, kind: 'capture', amount: gross, fee });
    this.channelBooks.set(input.outTradeNo, { channel, charged: gross, refunded: 0n });
    this.entries.capture += 1;
    return payment;
  }

  /** A succeeded refund; `policy` is the refund fee policy the model holds applies. */
  refund(payment: ModelPayment, amount: bigint, at: number, policy: RefundFeePolicy): bigint {
    if (amount <= 0n || payment.refunded + amount > payment.gross) throw new Error(`model: refund of ${amount} on ${payment.id} beyond what is refundable`);
    const returned = policy === 'retained' ? 0n : divideHalfUp(payment.fee * (payment.refunded + amount), payment.gross) - divideHalfUp(payment.fee * payment.refunded, payment.gross);
    payment.refunded += amount;
    this.move(['merchant_pending', payment.merchant], ['channel_receivable', payment.channel], payment.currency, amount);
    this.move(['fee_revenue', 'platform'], ['merchant_pending', payment.merchant], payment.currency, returned);
    this.txnsOf(payment.merchant, payment.currency).push({ at, kind: 'refund', amount, fee: returned });
    this.channelBooks.get(payment.outTradeNo)!.refunded += amount;
    this.entries.refund += 1;
    return returned;
  }

  private txnsOf(merchant: string, currency: string): Txn[] {
    let list = this.txns.get(key(merchant, currency));
    if (list === undefined) this.txns.set(key(merchant, currency), (list = []));
    return list;
  }

  private batchesOf(merchant: string, currency: string): Map<string, ModelBatch> {
    let map = this.batches.get(key(merchant, currency));
    if (map === undefined) this.batches.set(key(merchant, currency), (map = new Map()));
    return map;
  }

  private currenciesOf(merchant: string): string[] {
    const found = new Set<string>();
    for (const k of [...this.txns.keys(), ...this.batches.keys()]) {
      const [m, currency] = k.split('|');
      if (m === merchant) found.add(currency!);
    }
    return [...found].sort();
  }

  /**
   * Settling `date` for one merchant at `now` (docs/settlement.md): not before the day closed plus
   * the minute's grace; per currency, the window runs from the end of the previous batch (or the
   * day's start) to the day's close; a settled day run again is unchanged; a day before a settled
   * later day is out of order; the net plus any shortfall carried in is settled when positive, else
   * carried forward.
   */
  settle(merchant: string, date: string, now: number): SettleOutcome[] {
    const schedule = this.merchantSchedule(merchant);
    const computed = { start: dayClose(schedule, previousDate(date)), end: dayClose(schedule, date) };
    const currencies = this.currenciesOf(merchant);
    const sameDay = currencies.filter((c) => this.batchesOf(merchant, c).has(date));
    if (sameDay.length === 0 && computed.end + 60_000 > now) return [{ merchant, currency: null, outcome: 'day_not_closed', batch: null }];
    const results: SettleOutcome[] = [];
    for (const currency of currencies) {
      const batches = this.batchesOf(merchant, currency);
      const existing = batches.get(date);
      const earlier = [...batches.values()].filter((b) => b.date < date).sort((a, b) => (a.date < b.date ? -1 : 1));
      const previous = earlier[earlier.length - 1];
      const window = existing ? { start: existing.start, end: existing.end } : previous ? { start: previous.end, end: computed.end } : computed;
      if (window.end <= window.start) continue;
      const inWindow = (this.txns.get(key(merchant, currency)) ?? []).filter((t) => t.at >= window.start && t.at < window.end);
      if (inWindow.length === 0 && !existing) continue;
      if (existing) {
        results.push({ merchant, currency, outcome: 'unchanged', batch: existing });
        continue;
      }
      if ([...batches.keys()].some((d) => d > date)) {
        results.push({ merchant, currency, outcome: 'out_of_order', batch: null });
        continue;
      }
      const captures = inWindow.filter((t) => t.kind === 'capture');
      const refunds = inWindow.filter((t) => t.kind === 'refund');
      const sum = (list: Txn[], f: (t: Txn) => bigint) => list.reduce((total, t) => total + f(t), 0n);
      const gross = sum(captures, (t) => t.amount);
      const refunded = sum(refunds, (t) => t.amount);
      const feesCharged = sum(captures, (t) => t.fee);
      const feesReturned = sum(refunds, (t) => t.fee);
      const net = gross - refunded - (feesCharged - feesReturned);
      const carriedIn = previous?.carriedOut ?? 0n;
      const total = net + carriedIn;
      const batch: ModelBatch = {
        date, start: window.start, end: window.end, captureCount: captures.length, refundCount: refunds.length, gross, refunds: refunded, feesCharged, feesReturned,
        net, carriedIn, amountSettled: total > 0n ? total : 0n, carriedOut: total > 0n ? 0n : total,
      };
      batches.set(date, batch);
      if (batch.amountSettled > 0n) {
        this.move(['merchant_pending', merchant], ['merchant_available', merchant], currency, batch.amountSettled);
        this.entries.settlement += 1;
      }
      results.push({ merchant, currency, outcome: 'settled', batch });
    }
    return results.length > 0 ? results : [{ merchant, currency: null, outcome: 'no_transactions', batch: null }];
  }

  payoutCreated(id: string, merchant: string, currency: string, amount: bigint): void {
    if (amount <= 0n) throw new Error('model: a payout of nothing');
    this.payouts.set(id, { id, merchant, currency, amount, final: null });
    this.move(['merchant_available', merchant], ['payout_in_transit', merchant], currency, amount);
    this.entries.payout += 1;
  }

  /** A payout's final status as the API shows it: paid (in transit to the bank), failed (reversed), or paid and returned. */
  payoutFinal(id: string, status: 'paid' | 'failed' | 'returned', bank: string | null): void {
    const payout = this.payouts.get(id);
    if (payout === undefined || payout.final !== null) throw new Error(`model: payout ${id} unknown or already final`);
    payout.final = { status, bank };
    const { merchant, currency, amount } = payout;
    if (status === 'failed') {
      this.move(['payout_in_transit', merchant], ['merchant_available', merchant], currency, amount);
      this.entries.reversal += 1;
      return;
    }
    if (bank === null) throw new Error(`model: payout ${id} ${status} without a bank`);
    this.move(['payout_in_transit', merchant], ['bank_cash', bank], currency, amount);
    this.entries.payout_paid += 1;
    if (status === 'returned') {
      this.move(['bank_cash', bank], ['merchant_available', merchant], currency, amount);
      this.entries.payout_return += 1;
    }
  }
}
