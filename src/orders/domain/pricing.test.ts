import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { errorCatalog } from '../../kernel/errors.ts';
import { limits } from '../../kernel/limits.ts';
import {
  assertPricedOrder, couponApplicationOrder, priceOrder,
  type PricedOrder, type PricingCoupon, type PricingInput, type PricingItem, type PricingResult,
} from './pricing.ts';

const now = new Date('2026-03-01T12:00:00Z');
const amountMax = limits.amount_minor_max;

function item(unit_amount: bigint, quantity = 1, name = 'Item'): PricingItem {
  return { name, unit_amount, quantity };
}

function percentOff(code: string, bps: bigint, extra: Partial<PricingCoupon> = {}): PricingCoupon {
  return { id: `cpn_${code.toLowerCase()}`, code, kind: 'percent_off', percent_off_bps: bps, stackable: true, ...extra };
}

function amountOff(code: string, amount: bigint, currency: string, extra: Partial<PricingCoupon> = {}): PricingCoupon {
  return { id: `cpn_${code.toLowerCase()}`, code, kind: 'amount_off', amount_off: amount, currency, stackable: true, ...extra };
}

function price(currency: string, items: PricingItem[], coupons: PricingCoupon[] = [], at: Date = now): PricingResult {
  return priceOrder({ currency, items, coupons, now: at });
}

function priced(result: PricingResult): PricedOrder {
  if (!result.ok) throw new Error(`expected a priced order, got ${result.code} (${result.param}): ${result.message}`);
  return result.value;
}

function lineAmounts(order: PricedOrder): Array<[bigint, bigint, bigint]> {
  return order.items.map((line) => [line.amount_subtotal, line.amount_discount, line.amount_total]);
}

describe('priceOrder: examples', () => {
  it('prices lines without coupons', () => {
    const order = priced(price('USD', [item(1000n, 3, 'Tea'), { name: 'Cup', unit_amount: 250n, quantity: 2, sku: 'CUP-1' }]));
    expect(order.items).toEqual([
      { name: 'Tea', sku: null, unit_amount: 1000n, quantity: 3, amount_subtotal: 3000n, amount_discount: 0n, amount_total: 3000n },
      { name: 'Cup', sku: 'CUP-1', unit_amount: 250n, quantity: 2, amount_subtotal: 500n, amount_discount: 0n, amount_total: 500n },
    ]);
    expect([order.amount_subtotal, order.amount_discount, order.amount_total]).toEqual([3500n, 0n, 3500n]);
    expect(order.applied_coupons).toEqual([]);
    expect(order.currency).toBe('USD');
  });

  it('3 items of 1000 with a 10 % coupon: 300 off, 100 per line', () => {
    const order = priced(price('USD', [item(1000n), item(1000n), item(1000n)], [percentOff('TEN', 1000n)]));
    expect([order.amount_subtotal, order.amount_discount, order.amount_total]).toEqual([3000n, 300n, 2700n]);
    expect(lineAmounts(order)).toEqual([[1000n, 100n, 900n], [1000n, 100n, 900n], [1000n, 100n, 900n]]);
    expect(order.applied_coupons).toEqual([{ id: 'cpn_ten', code: 'TEN', amount_off: 300n }]);
  });

  it('500 off a JPY order is spread by largest remainder', () => {
    const order = priced(price('JPY', [item(1200n), item(800n, 2)], [amountOff('YEN500', 500n, 'JPY')]));
    expect([order.amount_subtotal, order.amount_discount, order.amount_total]).toEqual([2800n, 500n, 2300n]);
    // 500 × 1200/2800 = 214.28..., 500 × 1600/2800 = 285.71...
    expect(lineAmounts(order)).toEqual([[1200n, 214n, 986n], [1600n, 286n, 1314n]]);
  });

  it('33.33 % of 10 000 split over three equal lines', () => {
    const order = priced(price('USD', [item(3334n), item(3333n), item(3333n)], [percentOff('THIRD', 3333n)]));
    expect(order.amount_discount).toBe(3333n); // 10 000 × 0.3333
    expect(lineAmounts(order).map(([, discount]) => discount)).toEqual([1111n, 1111n, 1111n]);
    const even = priced(price('USD', [item(100n), item(100n), item(100n)], [percentOff('THIRD', 3333n)]));
    expect(even.amount_discount).toBe(100n); // 300 × 0.3333 = 99.99 -> 100
    expect(lineAmounts(even).map(([, discount]) => discount)).toEqual([34n, 33n, 33n]);
  });

  it('rounds a half HALF_UP: 5 % of 10 is 1, 5 % of 30 is 2', () => {
    expect(priced(price('USD', [item(10n)], [percentOff('FIVE', 500n)])).amount_discount).toBe(1n);
    expect(priced(price('USD', [item(30n)], [percentOff('FIVE', 500n)])).amount_discount).toBe(2n);
    expect(priced(price('USD', [item(29n)], [percentOff('FIVE', 500n)])).amount_discount).toBe(1n); // 1.45
  });

  it('applies percent coupons before amount coupons whatever the request order', () => {
    const order = priced(price('USD', [item(3000n)], [amountOff('FLAT5', 500n, 'USD'), percentOff('TEN', 1000n)]));
    // 10 % of 3000 = 300, then 500: 2200 (the other order would give 2250).
    expect(order.amount_total).toBe(2200n);
    expect(order.applied_coupons).toEqual([
      { id: 'cpn_ten', code: 'TEN', amount_off: 300n },
      { id: 'cpn_flat5', code: 'FLAT5', amount_off: 500n },
    ]);
  });

  it('applies each percent coupon to the running total', () => {
    const order = priced(price('USD', [item(1000n)], [percentOff('A', 1000n), percentOff('B', 1000n)]));
    expect(order.applied_coupons.map((c) => c.amount_off)).toEqual([100n, 90n]);
    expect(order.amount_total).toBe(810n);
  });

  it('caps a discount at the running total and never goes below zero', () => {
    const order = priced(price('EUR', [item(300n), item(200n)], [amountOff('BIG', 10_000n, 'EUR')]));
    expect([order.amount_discount, order.amount_total]).toEqual([500n, 0n]);
    expect(lineAmounts(order)).toEqual([[300n, 300n, 0n], [200n, 200n, 0n]]);
    const both = priced(price('EUR', [item(300n)], [percentOff('ALL', 10_000n), amountOff('MORE', 50n, 'eur')]));
    expect(both.applied_coupons.map((c) => c.amount_off)).toEqual([300n, 0n]);
    expect(both.amount_total).toBe(0n);
  });

  it('gives no discount to a free line', () => {
    const order = priced(price('USD', [item(0n, 5), item(1000n)], [percentOff('TEN', 1000n), amountOff('ONE', 100n, 'USD')]));
    expect(lineAmounts(order)).toEqual([[0n, 0n, 0n], [1000n, 200n, 800n]]);
  });

  it('works with three-decimal currencies', () => {
    const order = priced(price('KWD', [item(1_005n), item(2_010n)], [percentOff('HALF', 5_000n)]));
    expect(order.amount_discount).toBe(1_508n); // 3015 × 0.5 = 1507.5 -> 1508
    expect(lineAmounts(order).map(([, discount]) => discount)).toEqual([503n, 1_005n]);
  });

  it('logs every step as JSON-friendly strings', () => {
    const order = priced(price('USD', [item(1000n), item(1000n), item(1000n)], [percentOff('TEN', 1000n), amountOff('FIVE', 500n, 'USD')]));
    const steps = order.pricing_log.map((s) => s.step);
    expect(steps.filter((s) => s === 'line_subtotal')).toHaveLength(3);
    expect(steps.filter((s) => s === 'coupon_check')).toHaveLength(2);
    expect(steps.filter((s) => s === 'coupon_discount')).toHaveLength(2);
    expect(steps.filter((s) => s === 'discount_allocation')).toHaveLength(6);
    expect(steps.slice(-2)).toEqual(['discount', 'total']);
    expect(order.pricing_log.at(-1)).toMatchObject({ step: 'total', amount: '2200' });
    const json = JSON.stringify(order.pricing_log);
    expect(JSON.parse(json)).toEqual(order.pricing_log);
    for (const step of order.pricing_log) {
      if (step.amount !== undefined) expect(step.amount).toMatch(/^-?[0-9]+$/);
    }
  });
});

describe('priceOrder: rejections', () => {
  it('rejects a line that exceeds amount_minor_max, naming the quantity', () => {
    const result = price('USD', [item(10n), item(amountMax / 2n + 1n, 2)]);
    expect(result).toMatchObject({ ok: false, code: 'amount_too_large', param: 'items[1].quantity' });
  });

  it('rejects a unit amount above amount_minor_max', () => {
    expect(price('USD', [item(amountMax + 1n)])).toMatchObject({ ok: false, code: 'amount_too_large', param: 'items[0].unit_amount' });
  });

  it('rejects a subtotal above amount_minor_max, accepts exactly the maximum', () => {
    expect(price('USD', [item(amountMax), item(1n)])).toMatchObject({ ok: false, code: 'amount_too_large', param: 'items' });
    expect(priced(price('USD', [item(amountMax - 1n), item(1n)])).amount_total).toBe(amountMax);
  });

  it('rejects a duplicated coupon by id or by code in any case', () => {
    expect(price('USD', [item(100n)], [percentOff('TEN', 1000n), percentOff('TEN', 1000n)]))
      .toMatchObject({ ok: false, code: 'coupon_duplicated', param: 'coupon_codes[1]' });
    expect(price('USD', [item(100n)], [percentOff('TEN', 1000n), percentOff('ten', 1000n, { id: 'cpn_other' })]))
      .toMatchObject({ ok: false, code: 'coupon_duplicated', param: 'coupon_codes[1]' });
  });

  it('rejects combining a non-stackable coupon, but allows it alone', () => {
    const solo = percentOff('SOLO', 1000n, { stackable: false });
    expect(price('USD', [item(100n)], [percentOff('TEN', 1000n), solo]))
      .toMatchObject({ ok: false, code: 'coupon_not_stackable', param: 'coupon_codes[1]' });
    expect(priced(price('USD', [item(100n)], [solo])).amount_discount).toBe(10n);
  });

  it('checks the validity window: valid_from inclusive, valid_until exclusive', () => {
    const windowed = percentOff('WIN', 1000n, { valid_from: new Date('2026-03-01T00:00:00Z'), valid_until: new Date('2026-04-01T00:00:00Z') });
    const at = (iso: string) => price('USD', [item(100n)], [windowed], new Date(iso));
    expect(at('2026-02-28T23:59:59.999Z')).toMatchObject({ ok: false, code: 'coupon_not_yet_valid', param: 'coupon_codes[0]' });
    expect(priced(at('2026-03-01T00:00:00Z')).amount_discount).toBe(10n);
    expect(priced(at('2026-03-31T23:59:59.999Z')).amount_discount).toBe(10n);
    expect(at('2026-04-01T00:00:00Z')).toMatchObject({ ok: false, code: 'coupon_expired', param: 'coupon_codes[0]' });
  });

  it('rejects an amount coupon in another currency, or without one', () => {
    expect(price('USD', [item(1000n)], [percentOff('P', 100n), amountOff('EUR5', 500n, 'EUR')]))
      .toMatchObject({ ok: false, code: 'coupon_currency_mismatch', param: 'coupon_codes[1]' });
    expect(price('USD', [item(1000n)], [amountOff('NONE', 500n, 'USD', { currency: null })]))
      .toMatchObject({ ok: false, code: 'coupon_currency_mismatch', param: 'coupon_codes[0]' });
    // A percent coupon's currency does not matter.
    expect(price('USD', [item(1000n)], [percentOff('P', 100n, { currency: 'EUR' })]).ok).toBe(true);
  });

  it('compares min_subtotal with the subtotal before discounts', () => {
    const coupons = [percentOff('HALF', 5000n), amountOff('MIN', 100n, 'USD', { min_subtotal: 1000n })];
    expect(priced(price('USD', [item(1000n)], coupons)).amount_total).toBe(400n);
    expect(price('USD', [item(999n)], coupons)).toMatchObject({ ok: false, code: 'coupon_minimum_not_met', param: 'coupon_codes[1]' });
  });

  it('fails an assertion on input the caller should have validated', () => {
    expect(() => price('usd', [item(1n)])).toThrow(/assertion failed/);
    expect(() => price('USD', [])).toThrow(/assertion failed/);
    expect(() => price('USD', [item(1n, 0)])).toThrow(/assertion failed/);
    expect(() => price('USD', [item(1n, limits.item_quantity_max + 1)])).toThrow(/assertion failed/);
    expect(() => price('USD', [item(-1n)])).toThrow(/assertion failed/);
    expect(() => price('USD', [item(1n)], [percentOff('ZERO', 0n)])).toThrow(/assertion failed/);
    expect(() => price('USD', [item(1n)], [percentOff('MORE', 10_001n)])).toThrow(/assertion failed/);
    expect(() => price('USD', [item(1n)], [amountOff('NEG', -1n, 'USD')])).toThrow(/assertion failed/);
    expect(() => price('USD', [item(1n)], [], new Date('nope'))).toThrow(/assertion failed/);
  });
});

describe('couponApplicationOrder', () => {
  it('puts percent coupons first and keeps request order within each kind', () => {
    const coupons = [amountOff('A1', 1n, 'USD'), percentOff('P1', 1n), amountOff('A2', 1n, 'USD'), percentOff('P2', 1n)];
    expect(couponApplicationOrder(coupons).map((c) => c.code)).toEqual(['P1', 'P2', 'A1', 'A2']);
  });
});

// ---- properties ----

const currencyArb = fc.constantFrom('USD', 'JPY', 'KWD', 'EUR');

const itemArb: fc.Arbitrary<PricingItem> = fc.record({
  name: fc.string({ minLength: 1, maxLength: 8 }),
  unit_amount: fc.oneof(fc.bigInt({ min: 0n, max: 10_000n }), fc.bigInt({ min: 0n, max: 10n ** 8n })),
  quantity: fc.integer({ min: 1, max: 100 }),
  sku: fc.option(fc.string({ maxLength: 6 }), { nil: null }),
});

/** Coupons that always apply to an order in `currency` priced at `now`. */
function applicableCouponArb(currency: string): fc.Arbitrary<PricingCoupon> {
  const window = {
    valid_from: fc.option(fc.constant(new Date('2026-01-01T00:00:00Z')), { nil: null }),
    valid_until: fc.option(fc.constant(new Date('2027-01-01T00:00:00Z')), { nil: null }),
  };
  const percent = fc.record({
    kind: fc.constant('percent_off' as const),
    percent_off_bps: fc.oneof(fc.bigInt({ min: 1n, max: 10_000n }), fc.constantFrom(5_000n, 3_333n, 10_000n, 1n)),
    ...window,
  });
  const amount = fc.record({
    kind: fc.constant('amount_off' as const),
    amount_off: fc.oneof(fc.bigInt({ min: 1n, max: 1_000n }), fc.bigInt({ min: 1n, max: 10n ** 9n })),
    currency: fc.constant(currency),
    ...window,
  });
  return fc.oneof(percent, amount).map((c) => ({ ...c, id: '', code: '', stackable: true }) as PricingCoupon);
}

const inputArb: fc.Arbitrary<PricingInput> = currencyArb.chain((currency) =>
  fc.record({
    currency: fc.constant(currency),
    items: fc.array(itemArb, { minLength: 1, maxLength: 12 }),
    coupons: fc.array(applicableCouponArb(currency), { maxLength: limits.order_coupons_max }).map((list) =>
      list.map((c, index) => ({ ...c, id: `cpn_${index}`, code: `CODE${index}` })),
    ),
    now: fc.constant(now),
  }),
);

describe('priceOrder: properties', () => {
  it('keeps its invariants for random items and coupons', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const order = priced(priceOrder(input));
        assertPricedOrder(order);
        expect(order.items.reduce((t, line) => t + line.amount_total, 0n)).toBe(order.amount_total);
        expect(order.items.reduce((t, line) => t + line.amount_discount, 0n)).toBe(order.amount_discount);
        expect(order.applied_coupons.reduce((t, c) => t + c.amount_off, 0n)).toBe(order.amount_discount);
        expect(order.amount_discount >= 0n && order.amount_discount <= order.amount_subtotal).toBe(true);
        expect(order.amount_total >= 0n).toBe(true);
        for (const line of order.items) {
          expect(line.amount_total >= 0n && line.amount_discount <= line.amount_subtotal).toBe(true);
        }
        expect(order.applied_coupons).toHaveLength(input.coupons.length);
      }),
      { numRuns: 500 },
    );
  });

  it('is deterministic and its log is JSON-serialisable', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const first = priceOrder(input);
        expect(priceOrder(input)).toEqual(first);
        const order = priced(first);
        expect(() => JSON.stringify(order.pricing_log)).not.toThrow();
        expect(order.pricing_log.at(-1)).toEqual(expect.objectContaining({ step: 'total', amount: `${order.amount_total}` }));
      }),
      { numRuns: 200 },
    );
  });

  it('gives a single percent coupon exactly the HALF_UP share of the subtotal', () => {
    fc.assert(
      fc.property(fc.array(itemArb, { minLength: 1, maxLength: 8 }), fc.bigInt({ min: 1n, max: 10_000n }), (items, bps) => {
        const order = priced(price('USD', items, [percentOff('P', bps)]));
        const exact = order.amount_subtotal * bps; // discount × 10 000 should be within half of this
        const error = order.amount_discount * 10_000n - exact;
        expect(error > -5_000n && error <= 5_000n).toBe(true);
      }),
    );
  });

  it('rejects with a catalog code and a param, or prices within the invariants, for arbitrary coupons', () => {
    const dateArb = fc.option(fc.date({ min: new Date('2025-01-01T00:00:00Z'), max: new Date('2027-12-31T00:00:00Z'), noInvalidDate: true }), { nil: null });
    const couponArb: fc.Arbitrary<PricingCoupon> = fc
      .record({
        kind: fc.constantFrom('percent_off' as const, 'amount_off' as const),
        percent_off_bps: fc.bigInt({ min: 1n, max: 10_000n }),
        amount_off: fc.bigInt({ min: 1n, max: 10n ** 6n }),
        currency: fc.constantFrom('USD', 'EUR', null),
        min_subtotal: fc.option(fc.bigInt({ min: 0n, max: 10n ** 6n }), { nil: null }),
        valid_from: dateArb,
        valid_until: dateArb,
        stackable: fc.boolean(),
        code: fc.constantFrom('A', 'B', 'C', 'a', 'D', 'E'),
      })
      .map((c) => ({ ...c, id: `cpn_${c.code}` }));
    fc.assert(
      fc.property(fc.array(itemArb, { minLength: 1, maxLength: 5 }), fc.array(couponArb, { maxLength: limits.order_coupons_max }), (items, coupons) => {
        const result = price('USD', items, coupons);
        if (result.ok) {
          assertPricedOrder(result.value);
        } else {
          expect(errorCatalog).toHaveProperty(result.code);
          expect(result.param).toMatch(/^(coupon_codes\[\d+\]|items(\[\d+\]\.(quantity|unit_amount))?)$/);
          expect(result.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 500 },
    );
  });
});
