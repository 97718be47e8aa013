// The pricing engine: line subtotals, coupon checks, discounts and their allocation to lines.
// Pure: the clock is `input.now`, the coupons are already loaded. No I/O.
//
// Callers validate the request shape first (item count, quantity range, coupon count, coupon
// records as stored); breaking those is a programmer error and fails an assertion. Rejections a
// user can cause (a coupon that does not apply, an amount too large) come back as values.

import { assert, type ErrorCode } from '../../kernel/errors.ts';
import { limits } from '../../kernel/limits.ts';
import { isSupportedCurrency, normalizeCurrency } from '../../kernel/currency.ts';
import { allocate, divideRounded, money } from '../../kernel/money.ts';

export interface PricingItem {
  name: string;
  unit_amount: bigint;
  quantity: number;
  sku?: string | null;
}

export interface PricingCoupon {
  id: string;
  code: string;
  kind: 'percent_off' | 'amount_off';
  /** 1..10000 basis points; set for percent_off. */
  percent_off_bps?: bigint;
  /** Minor units of `currency`; set for amount_off. */
  amount_off?: bigint;
  currency?: string | null;
  min_subtotal?: bigint | null;
  /** Inclusive. */
  valid_from?: Date | null;
  /** Exclusive. */
  valid_until?: Date | null;
  stackable: boolean;
}

export interface PricingInput {
  currency: string;
  items: readonly PricingItem[];
  coupons: readonly PricingCoupon[];
  now: Date;
}

export interface PricedItem {
  name: string;
  sku: string | null;
  unit_amount: bigint;
  quantity: number;
  amount_subtotal: bigint;
  amount_discount: bigint;
  amount_total: bigint;
}

export interface AppliedCoupon {
  id: string;
  code: string;
  /** Discount this coupon actually gave, in minor units (0 when the total was already 0). */
  amount_off: bigint;
}

/** One step of the calculation; amounts are decimal strings of minor units, so JSON can carry it. */
export interface PricingStep {
  step: string;
  detail: string;
  amount?: string;
}

export interface PricedOrder {
  currency: string;
  items: PricedItem[];
  amount_subtotal: bigint;
  amount_discount: bigint;
  amount_total: bigint;
  applied_coupons: AppliedCoupon[];
  pricing_log: PricingStep[];
}

export type PricingRejectionCode = Extract<
  ErrorCode,
  | 'coupon_expired'
  | 'coupon_not_yet_valid'
  | 'coupon_currency_mismatch'
  | 'coupon_minimum_not_met'
  | 'coupon_not_stackable'
  | 'coupon_duplicated'
  | 'amount_too_large'
>;

export interface PricingRejection {
  ok: false;
  code: PricingRejectionCode;
  message: string;
  /** The offending parameter: `items[2].quantity`, `coupon_codes[1]`, `items`. */
  param: string;
}

export type PricingResult = { ok: true; value: PricedOrder } | PricingRejection;

/** Prices an order. Same input, same output: nothing here reads a clock or a random source. */
export function priceOrder(input: PricingInput): PricingResult {
  assertPricingInput(input);
  const log: PricingStep[] = [];
  const priced = priceLines(input, log);
  if (!priced.ok) return priced;
  const rejection = checkCoupons(input, priced.subtotal, log);
  if (rejection !== undefined) return rejection;

  const lines = priced.lines;
  const applied: AppliedCoupon[] = [];
  for (const coupon of couponApplicationOrder(input.coupons)) {
    applied.push(applyCoupon(coupon, lines, input.currency, log));
  }
  const order = buildPricedOrder(input.currency, lines, priced.subtotal, applied, log);
  assertPricedOrder(order);
  return { ok: true, value: order };
}

function reject(code: PricingRejectionCode, message: string, param: string): PricingRejection {
  return { ok: false, code, message, param };
}

function assertPricingInput(input: PricingInput): void {
  assert(isSupportedCurrency(input.currency), `pricing: unsupported currency ${String(input.currency)}`);
  assert(input.now instanceof Date && !Number.isNaN(input.now.getTime()), 'pricing: now must be a valid Date');
  assert(input.items.length >= 1 && input.items.length <= limits.order_items_max, 'pricing: 1..order_items_max items');
  assert(input.coupons.length <= limits.order_coupons_max, 'pricing: at most order_coupons_max coupons');
  for (const item of input.items) {
    assert(typeof item.unit_amount === 'bigint' && item.unit_amount >= 0n, 'pricing: unit_amount is a bigint >= 0');
    assert(
      Number.isSafeInteger(item.quantity) && item.quantity >= 1 && item.quantity <= limits.item_quantity_max,
      'pricing: quantity is an integer in 1..item_quantity_max',
    );
  }
  for (const coupon of input.coupons) {
    if (coupon.kind === 'percent_off') {
      const bps = coupon.percent_off_bps;
      assert(typeof bps === 'bigint' && bps >= 1n && bps <= 10_000n, 'pricing: percent_off_bps in 1..10000');
    } else {
      assert(coupon.kind === 'amount_off', 'pricing: coupon kind is percent_off or amount_off');
      assert(typeof coupon.amount_off === 'bigint' && coupon.amount_off > 0n, 'pricing: amount_off is a positive bigint');
    }
    const minimum = coupon.min_subtotal;
    assert(minimum === undefined || minimum === null || (typeof minimum === 'bigint' && minimum >= 0n), 'pricing: min_subtotal >= 0');
  }
}

/** A line while coupons are applied: its subtotal and the discount given to it so far. */
interface WorkingLine {
  readonly item: PricingItem;
  readonly amount_subtotal: bigint;
  amount_discount: bigint;
}

function priceLines(
  input: PricingInput,
  log: PricingStep[],
): { ok: true; lines: WorkingLine[]; subtotal: bigint } | PricingRejection {
  const max = limits.amount_minor_max;
  const lines: WorkingLine[] = [];
  let subtotal = 0n;
  for (const [index, item] of input.items.entries()) {
    if (item.unit_amount > max) {
      return reject('amount_too_large', `items[${index}].unit_amount exceeds ${max} minor units.`, `items[${index}].unit_amount`);
    }
    const amount_subtotal = item.unit_amount * BigInt(item.quantity);
    if (amount_subtotal > max) {
      return reject('amount_too_large', `items[${index}] subtotal ${amount_subtotal} exceeds ${max} minor units.`, `items[${index}].quantity`);
    }
    log.push({ step: 'line_subtotal', detail: `items[${index}]: ${item.unit_amount} × ${item.quantity}`, amount: `${amount_subtotal}` });
    lines.push({ item, amount_subtotal, amount_discount: 0n });
    subtotal += amount_subtotal;
  }
  if (subtotal > max) {
    return reject('amount_too_large', `The order subtotal ${subtotal} exceeds ${max} minor units.`, 'items');
  }
  log.push({ step: 'subtotal', detail: `sum of ${lines.length} line subtotals`, amount: `${subtotal}` });
  return { ok: true, lines, subtotal };
}

/** The rules on the coupon set, then each coupon on its own, in request order. */
function checkCoupons(input: PricingInput, subtotal: bigint, log: PricingStep[]): PricingRejection | undefined {
  const coupons = input.coupons;
  const seenIds = new Set<string>();
  const seenCodes = new Set<string>();
  for (const [index, coupon] of coupons.entries()) {
    const code = coupon.code.toUpperCase();
    if (seenIds.has(coupon.id) || seenCodes.has(code)) {
      return reject('coupon_duplicated', `The coupon ${coupon.code} is given more than once.`, `coupon_codes[${index}]`);
    }
    seenIds.add(coupon.id);
    seenCodes.add(code);
  }
  if (coupons.length > 1) {
    const index = coupons.findIndex((coupon) => !coupon.stackable);
    if (index >= 0) {
      return reject('coupon_not_stackable', `The coupon ${coupons[index]!.code} cannot be combined with other coupons.`, `coupon_codes[${index}]`);
    }
  }
  log.push({ step: 'coupon_set', detail: `${coupons.length} coupon(s): no duplicates, stacking allowed` });
  for (const [index, coupon] of coupons.entries()) {
    const rejection = checkCoupon(coupon, index, input, subtotal);
    if (rejection !== undefined) return rejection;
    log.push({ step: 'coupon_check', detail: `coupon_codes[${index}] ${coupon.code} (${coupon.id}): applies` });
  }
  return undefined;
}

function checkCoupon(coupon: PricingCoupon, index: number, input: PricingInput, subtotal: bigint): PricingRejection | undefined {
  const param = `coupon_codes[${index}]`;
  const now = input.now.getTime();
  if (coupon.valid_from != null && now < coupon.valid_from.getTime()) {
    return reject('coupon_not_yet_valid', `The coupon ${coupon.code} is valid from ${coupon.valid_from.toISOString()}.`, param);
  }
  if (coupon.valid_until != null && now >= coupon.valid_until.getTime()) {
    return reject('coupon_expired', `The coupon ${coupon.code} expired at ${coupon.valid_until.toISOString()}.`, param);
  }
  if (coupon.kind === 'amount_off' && normalizeCurrency(coupon.currency ?? '') !== input.currency) {
    return reject(
      'coupon_currency_mismatch',
      `The coupon ${coupon.code} is in ${coupon.currency ?? 'no currency'}, the order in ${input.currency}.`,
      param,
    );
  }
  if (coupon.min_subtotal != null && subtotal < coupon.min_subtotal) {
    return reject('coupon_minimum_not_met', `The coupon ${coupon.code} needs a subtotal of at least ${coupon.min_subtotal}; it is ${subtotal}.`, param);
  }
  return undefined;
}

/** Percent coupons first, then amount coupons; request order within each kind. */
export function couponApplicationOrder<C extends Pick<PricingCoupon, 'kind'>>(coupons: readonly C[]): C[] {
  return [...coupons.filter((c) => c.kind === 'percent_off'), ...coupons.filter((c) => c.kind === 'amount_off')];
}

function runningTotal(lines: readonly WorkingLine[]): bigint {
  return lines.reduce((total, line) => total + line.amount_subtotal - line.amount_discount, 0n);
}

function applyCoupon(coupon: PricingCoupon, lines: WorkingLine[], currency: string, log: PricingStep[]): AppliedCoupon {
  const running = runningTotal(lines);
  assert(running >= 0n, 'pricing: the running total is never negative');
  let discount: bigint;
  let how: string;
  if (coupon.kind === 'percent_off') {
    const bps = coupon.percent_off_bps!;
    discount = divideRounded(running * bps, 10_000n, 'HALF_UP');
    how = `${bps} bps of running total ${running}, HALF_UP`;
  } else {
    discount = coupon.amount_off!;
    how = `${discount} off running total ${running}`;
  }
  if (discount > running) {
    how += `, capped at ${running}`;
    discount = running;
  }
  assert(discount >= 0n && discount <= running, 'pricing: 0 <= discount <= running total');
  log.push({ step: 'coupon_discount', detail: `${coupon.code} (${coupon.id}) ${coupon.kind}: ${how}`, amount: `${discount}` });
  allocateDiscount(coupon, discount, lines, currency, log);
  assert(runningTotal(lines) === running - discount, 'pricing: the lines carry exactly the discount');
  return { id: coupon.id, code: coupon.code, amount_off: discount };
}

/** Spreads one coupon's discount over the lines in proportion to what each line still costs. */
function allocateDiscount(coupon: PricingCoupon, discount: bigint, lines: WorkingLine[], currency: string, log: PricingStep[]): void {
  if (discount === 0n) {
    log.push({ step: 'discount_allocation', detail: `${coupon.code}: nothing to allocate`, amount: '0' });
    return;
  }
  const weights = lines.map((line) => line.amount_subtotal - line.amount_discount);
  const parts = allocate(money(discount, currency), weights);
  for (const [index, line] of lines.entries()) {
    const part = parts[index]!.amount;
    assert(part >= 0n && part <= weights[index]!, 'pricing: a line discount stays within what the line costs');
    line.amount_discount += part;
    log.push({
      step: 'discount_allocation',
      detail: `${coupon.code} -> items[${index}] (remaining ${weights[index]} of ${sumOf(weights)})`,
      amount: `${part}`,
    });
  }
}

function sumOf(amounts: readonly bigint[]): bigint {
  return amounts.reduce((a, b) => a + b, 0n);
}

function buildPricedOrder(
  currency: string,
  lines: readonly WorkingLine[],
  subtotal: bigint,
  applied: AppliedCoupon[],
  log: PricingStep[],
): PricedOrder {
  const items: PricedItem[] = lines.map((line) => ({
    name: line.item.name,
    sku: line.item.sku ?? null,
    unit_amount: line.item.unit_amount,
    quantity: line.item.quantity,
    amount_subtotal: line.amount_subtotal,
    amount_discount: line.amount_discount,
    amount_total: line.amount_subtotal - line.amount_discount,
  }));
  const discount = applied.reduce((total, coupon) => total + coupon.amount_off, 0n);
  const total = subtotal - discount;
  log.push({ step: 'discount', detail: `sum of ${applied.length} coupon discounts`, amount: `${discount}` });
  log.push({ step: 'total', detail: `subtotal ${subtotal} - discount ${discount}`, amount: `${total}` });
  return {
    currency,
    items,
    amount_subtotal: subtotal,
    amount_discount: discount,
    amount_total: total,
    applied_coupons: applied,
    pricing_log: log,
  };
}

/** The invariants of a priced order, checked on every result. */
export function assertPricedOrder(order: PricedOrder): void {
  let lineSubtotals = 0n;
  let lineDiscounts = 0n;
  let lineTotals = 0n;
  for (const item of order.items) {
    assert(item.amount_subtotal === item.unit_amount * BigInt(item.quantity), 'pricing: line subtotal = unit × quantity');
    assert(item.amount_discount >= 0n && item.amount_total >= 0n, 'pricing: line discount and total >= 0');
    assert(item.amount_subtotal - item.amount_discount === item.amount_total, 'pricing: line subtotal - discount = total');
    lineSubtotals += item.amount_subtotal;
    lineDiscounts += item.amount_discount;
    lineTotals += item.amount_total;
  }
  assert(lineSubtotals === order.amount_subtotal, 'pricing: sum of line subtotals = amount_subtotal');
  assert(lineDiscounts === order.amount_discount, 'pricing: sum of line discounts = amount_discount');
  assert(lineTotals === order.amount_total, 'pricing: sum of line totals = amount_total');
  assert(order.amount_subtotal - order.amount_discount === order.amount_total, 'pricing: subtotal - discount = total');
  assert(order.amount_total >= 0n, 'pricing: amount_total >= 0');
  assert(order.amount_subtotal <= limits.amount_minor_max, 'pricing: amount_subtotal within amount_minor_max');
}
