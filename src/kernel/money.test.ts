import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ClearwayError } from './errors.ts';
import { limits } from './limits.ts';
import { currencyExponent, supportedCurrencies } from './currency.ts';
import {
  add, allocate, allocateEvenly, applyRate, basisPoints, compare, divideRounded, fromMajorUnitString, isNegative, isZero,
  max, min, money, multiply, negate, partsPerMillion, subtract, sum, toMajorUnitString,
  type Money, type RoundingMode,
} from './money.ts';

const amountMax = limits.amount_minor_max;
const roundingModes: readonly RoundingMode[] = ['HALF_UP', 'HALF_EVEN', 'HALF_DOWN', 'UP', 'DOWN', 'CEILING', 'FLOOR'];
const usd = (amount: bigint): Money => money(amount, 'USD');
const amountArb = fc.bigInt({ min: -amountMax, max: amountMax });

function expectAmountTooLarge(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ClearwayError);
    expect((error as ClearwayError).code).toBe('amount_too_large');
    return;
  }
  throw new Error('expected amount_too_large');
}

function expectAssertionFailure(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ClearwayError);
    expect((error as Error).message).toMatch(/^assertion failed/);
    return;
  }
  throw new Error('expected an assertion failure');
}

/**
 * Reference rounding built a different way: floor division and the fractional part
 * (n/d = floor + rem/d, 0 <= rem < d), then the mode decides between floor and floor + 1.
 */
function referenceDivide(n: bigint, d: bigint, mode: RoundingMode): bigint {
  if (d < 0n) return referenceDivide(-n, -d, mode);
  let floor = n / d;
  if (n % d !== 0n && n < 0n) floor -= 1n;
  const rem = n - floor * d;
  if (rem === 0n) return floor;
  const ceil = floor + 1n;
  const positive = n > 0n;
  const half = 2n * rem === d ? 'tie' : 2n * rem < d ? 'below' : 'above';
  switch (mode) {
    case 'FLOOR': return floor;
    case 'CEILING': return ceil;
    case 'DOWN': return positive ? floor : ceil;
    case 'UP': return positive ? ceil : floor;
    case 'HALF_UP': return half === 'below' ? floor : half === 'above' ? ceil : positive ? ceil : floor;
    case 'HALF_DOWN': return half === 'below' ? floor : half === 'above' ? ceil : positive ? floor : ceil;
    case 'HALF_EVEN': return half === 'below' ? floor : half === 'above' ? ceil : floor % 2n === 0n ? floor : ceil;
  }
}

describe('money()', () => {
  it('builds a frozen value within the bound', () => {
    const m = money(1234n, 'USD');
    expect(m).toEqual({ amount: 1234n, currency: 'USD' });
    expect(Object.isFrozen(m)).toBe(true);
    expect(money(amountMax, 'JPY').amount).toBe(amountMax);
    expect(money(-amountMax, 'KWD').amount).toBe(-amountMax);
  });

  it('throws amount_too_large just outside the bound', () => {
    expectAmountTooLarge(() => money(amountMax + 1n, 'USD'));
    expectAmountTooLarge(() => money(-amountMax - 1n, 'USD'));
  });

  it('fails an assertion on an unsupported or lower-case currency, or a number amount', () => {
    expectAssertionFailure(() => money(1n, 'XXX'));
    expectAssertionFailure(() => money(1n, 'usd'));
    expectAssertionFailure(() => money(1 as unknown as bigint, 'USD'));
  });
});

describe('checked arithmetic', () => {
  it('adds, subtracts, multiplies and negates', () => {
    expect(add(usd(150n), usd(-50n)).amount).toBe(100n);
    expect(subtract(usd(150n), usd(200n)).amount).toBe(-50n);
    expect(multiply(usd(333n), 3n).amount).toBe(999n);
    expect(negate(usd(5n)).amount).toBe(-5n);
    expect(negate(usd(0n)).amount).toBe(0n);
  });

  it('re-checks the bound on every result', () => {
    expectAmountTooLarge(() => add(usd(amountMax), usd(1n)));
    expectAmountTooLarge(() => subtract(usd(-amountMax), usd(1n)));
    expectAmountTooLarge(() => multiply(usd(amountMax / 2n + 1n), 2n));
    expectAmountTooLarge(() => sum([usd(amountMax), usd(1n)], 'USD'));
  });

  it('fails an assertion when currencies are mixed', () => {
    const yen = money(100n, 'JPY');
    expectAssertionFailure(() => add(usd(1n), yen));
    expectAssertionFailure(() => subtract(usd(1n), yen));
    expectAssertionFailure(() => compare(usd(1n), yen));
    expectAssertionFailure(() => min(usd(1n), yen));
    expectAssertionFailure(() => sum([usd(1n), yen], 'USD'));
  });

  it('compares, tests zero and sign, picks min and max', () => {
    expect(compare(usd(1n), usd(2n))).toBe(-1);
    expect(compare(usd(2n), usd(2n))).toBe(0);
    expect(compare(usd(3n), usd(2n))).toBe(1);
    expect(isZero(usd(0n))).toBe(true);
    expect(isZero(usd(-1n))).toBe(false);
    expect(isNegative(usd(-1n))).toBe(true);
    expect(isNegative(usd(0n))).toBe(false);
    expect(min(usd(-3n), usd(2n)).amount).toBe(-3n);
    expect(max(usd(-3n), usd(2n)).amount).toBe(2n);
  });

  it('sums a list, an empty one to zero, checking only the total', () => {
    expect(sum([], 'EUR')).toEqual({ amount: 0n, currency: 'EUR' });
    expect(sum([usd(1n), usd(2n), usd(-4n)], 'USD').amount).toBe(-1n);
    // The running sum leaves the bound on the way but the total is within it.
    expect(sum([usd(amountMax), usd(amountMax), usd(-amountMax)], 'USD').amount).toBe(amountMax);
  });

  it('add and subtract are inverse (property)', () => {
    fc.assert(
      fc.property(amountArb, amountArb, (a, b) => {
        fc.pre(a + b >= -amountMax && a + b <= amountMax);
        expect(subtract(add(usd(a), usd(b)), usd(b))).toEqual(usd(a));
        expect(add(usd(a), negate(usd(a))).amount).toBe(0n);
      }),
    );
  });

  it('add is commutative and compare is antisymmetric (property)', () => {
    fc.assert(
      fc.property(amountArb, amountArb, (a, b) => {
        fc.pre(a + b >= -amountMax && a + b <= amountMax);
        expect(add(usd(a), usd(b))).toEqual(add(usd(b), usd(a)));
        expect(compare(usd(a), usd(b)) + compare(usd(b), usd(a))).toBe(0);
      }),
    );
  });
});

describe('divideRounded', () => {
  it.each([
    // numerator, denominator, HALF_UP, HALF_EVEN, HALF_DOWN, UP, DOWN, CEILING, FLOOR
    [5n, 2n, 3n, 2n, 2n, 3n, 2n, 3n, 2n],
    [-5n, 2n, -3n, -2n, -2n, -3n, -2n, -2n, -3n],
    [7n, 2n, 4n, 4n, 3n, 4n, 3n, 4n, 3n],
    [-7n, 2n, -4n, -4n, -3n, -4n, -3n, -3n, -4n],
    [5n, -2n, -3n, -2n, -2n, -3n, -2n, -2n, -3n],
    [-5n, -2n, 3n, 2n, 2n, 3n, 2n, 3n, 2n],
    [7n, 3n, 2n, 2n, 2n, 3n, 2n, 3n, 2n],
    [-7n, 3n, -2n, -2n, -2n, -3n, -2n, -2n, -3n],
    [8n, 3n, 3n, 3n, 3n, 3n, 2n, 3n, 2n],
    [6n, 3n, 2n, 2n, 2n, 2n, 2n, 2n, 2n],
    [0n, 7n, 0n, 0n, 0n, 0n, 0n, 0n, 0n],
    [1n, 2n, 1n, 0n, 0n, 1n, 0n, 1n, 0n],
    [-1n, 2n, -1n, 0n, 0n, -1n, 0n, 0n, -1n],
  ] as const)('%i / %i', (n, d, ...expected) => {
    expect(roundingModes.map((mode) => divideRounded(n, d, mode))).toEqual(expected);
  });

  it('defaults to HALF_UP: a half goes away from zero', () => {
    expect(divideRounded(25n, 10n)).toBe(3n);
    expect(divideRounded(-25n, 10n)).toBe(-3n);
    expect(divideRounded(24n, 10n)).toBe(2n);
    expect(divideRounded(-24n, 10n)).toBe(-2n);
  });

  it('fails an assertion on a zero denominator', () => {
    expectAssertionFailure(() => divideRounded(1n, 0n));
  });

  it('agrees with a reference rational computation for every mode (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }),
        fc.oneof(fc.bigInt({ min: -20n, max: 20n }), fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n })),
        fc.constantFrom(...roundingModes),
        (n, d, mode) => {
          fc.pre(d !== 0n);
          expect(divideRounded(n, d, mode)).toBe(referenceDivide(n, d, mode));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('agrees with the reference on exact halves (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), fc.bigInt({ min: 1n, max: 10n ** 6n }), fc.constantFrom(...roundingModes), (q, half, mode) => {
        const d = 2n * half;
        const n = q * d + half; // exactly q + 0.5
        expect(divideRounded(n, d, mode)).toBe(referenceDivide(n, d, mode));
        expect(divideRounded(-n, d, mode)).toBe(referenceDivide(-n, d, mode));
      }),
    );
  });
});

describe('rates', () => {
  it('builds basis-point and ppm rates', () => {
    expect(basisPoints(250n)).toEqual({ numerator: 250n, denominator: 10_000n });
    expect(partsPerMillion(1_500n)).toEqual({ numerator: 1_500n, denominator: 1_000_000n });
    expectAssertionFailure(() => basisPoints(-1n));
    expectAssertionFailure(() => partsPerMillion(-1n));
  });

  it('applies a rate with HALF_UP by default', () => {
    expect(applyRate(usd(1234n), basisPoints(250n)).amount).toBe(31n); // 30.85
    expect(applyRate(usd(1234n), basisPoints(250n), 'DOWN').amount).toBe(30n);
    expect(applyRate(usd(20n), basisPoints(2500n)).amount).toBe(5n);
    expect(applyRate(usd(10n), basisPoints(500n)).amount).toBe(1n); // 0.5 -> 1
    expect(applyRate(usd(-10n), basisPoints(500n)).amount).toBe(-1n); // -0.5 -> -1
    expect(applyRate(usd(10n), basisPoints(500n), 'HALF_EVEN').amount).toBe(0n);
    expect(applyRate(money(1_000_000n, 'JPY'), partsPerMillion(3_333n)).amount).toBe(3_333n);
  });

  it('10 000 bps and 1 000 000 ppm are the identity (property)', () => {
    fc.assert(
      fc.property(amountArb, fc.constantFrom(...supportedCurrencies), fc.constantFrom(...roundingModes), (a, currency, mode) => {
        const m = money(a, currency);
        expect(applyRate(m, basisPoints(10_000n), mode)).toEqual(m);
        expect(applyRate(m, partsPerMillion(1_000_000n), mode)).toEqual(m);
        expect(applyRate(m, basisPoints(0n), mode).amount).toBe(0n);
      }),
    );
  });
});

describe('allocate', () => {
  it('splits 100 in three with the extra unit to the lowest index', () => {
    expect(allocate(usd(100n), [1n, 1n, 1n]).map((m) => m.amount)).toEqual([34n, 33n, 33n]);
    expect(allocate(usd(-100n), [1n, 1n, 1n]).map((m) => m.amount)).toEqual([-34n, -33n, -33n]);
    expect(allocate(usd(1n), [1n, 1n]).map((m) => m.amount)).toEqual([1n, 0n]);
  });

  it('splits 33.33 % shares exactly', () => {
    expect(allocate(usd(10_000n), [3333n, 3333n, 3334n]).map((m) => m.amount)).toEqual([3333n, 3333n, 3334n]);
    expect(allocate(usd(3333n), [1000n, 1000n, 1000n]).map((m) => m.amount)).toEqual([1111n, 1111n, 1111n]);
    expect(allocate(usd(200n), [1n, 1n, 1n]).map((m) => m.amount)).toEqual([67n, 67n, 66n]);
  });

  it('gives the extra units to the largest remainders', () => {
    // 500 over 1200 : 1600 -> 214.28... and 285.71...: the second has the larger remainder.
    expect(allocate(money(500n, 'JPY'), [1200n, 1600n]).map((m) => m.amount)).toEqual([214n, 286n]);
    // 10 over 1 : 2 : 7 is exact.
    expect(allocate(usd(10n), [1n, 2n, 7n]).map((m) => m.amount)).toEqual([1n, 2n, 7n]);
  });

  it('gives nothing to a zero weight and keeps the currency', () => {
    const parts = allocate(money(7n, 'KWD'), [0n, 5n, 0n, 5n]);
    expect(parts.map((m) => m.amount)).toEqual([0n, 4n, 0n, 3n]);
    expect(parts.every((m) => m.currency === 'KWD')).toBe(true);
  });

  it('fails an assertion on no weights, all-zero or negative weights', () => {
    expectAssertionFailure(() => allocate(usd(10n), []));
    expectAssertionFailure(() => allocate(usd(10n), [0n, 0n]));
    expectAssertionFailure(() => allocate(usd(10n), [1n, -1n, 2n]));
  });

  it('sums exactly and keeps each part within one unit of its exact share (property)', () => {
    fc.assert(
      fc.property(amountArb, fc.array(fc.bigInt({ min: 0n, max: 10n ** 12n }), { minLength: 1, maxLength: 30 }), (total, weights) => {
        fc.pre(weights.some((w) => w > 0n));
        const weightTotal = weights.reduce((a, b) => a + b, 0n);
        const parts = allocate(usd(total), weights);
        expect(parts).toHaveLength(weights.length);
        expect(parts.reduce((a, m) => a + m.amount, 0n)).toBe(total);
        parts.forEach((part, index) => {
          // |part - total × w / W| < 1  <=>  |part × W - total × w| < W
          const error = part.amount * weightTotal - total * weights[index]!;
          expect(error < weightTotal && error > -weightTotal).toBe(true);
          if (weights[index] === 0n) expect(part.amount).toBe(0n);
          if (total >= 0n) expect(part.amount >= 0n).toBe(true);
          else expect(part.amount <= 0n).toBe(true);
        });
      }),
      { numRuns: 1000 },
    );
  });

  it('is deterministic and symmetric under negation (property)', () => {
    fc.assert(
      fc.property(amountArb, fc.array(fc.bigInt({ min: 0n, max: 1000n }), { minLength: 1, maxLength: 10 }), (total, weights) => {
        fc.pre(weights.some((w) => w > 0n));
        const parts = allocate(usd(total), weights);
        expect(allocate(usd(total), weights)).toEqual(parts);
        expect(allocate(usd(-total), weights).map((m) => m.amount)).toEqual(parts.map((m) => -m.amount));
      }),
    );
  });
});

describe('allocateEvenly', () => {
  it('splits into parts that differ by at most one unit, larger first', () => {
    expect(allocateEvenly(usd(10n), 3).map((m) => m.amount)).toEqual([4n, 3n, 3n]);
    expect(allocateEvenly(usd(-10n), 4).map((m) => m.amount)).toEqual([-3n, -3n, -2n, -2n]);
    expect(allocateEvenly(usd(2n), 5).map((m) => m.amount)).toEqual([1n, 1n, 0n, 0n, 0n]);
    expectAssertionFailure(() => allocateEvenly(usd(10n), 0));
    expectAssertionFailure(() => allocateEvenly(usd(10n), 1.5));
  });

  it('sums exactly with a spread of at most one (property)', () => {
    fc.assert(
      fc.property(amountArb, fc.integer({ min: 1, max: 200 }), (total, count) => {
        const parts = allocateEvenly(usd(total), count).map((m) => m.amount);
        expect(parts.reduce((a, b) => a + b, 0n)).toBe(total);
        const largest = parts.reduce((a, b) => (a > b ? a : b));
        const smallest = parts.reduce((a, b) => (a < b ? a : b));
        expect(largest - smallest <= 1n).toBe(true);
      }),
    );
  });
});

describe('major-unit strings', () => {
  it.each([
    [1234n, 'USD', '12.34'],
    [-5n, 'USD', '-0.05'],
    [0n, 'USD', '0.00'],
    [1230n, 'EUR', '12.30'],
    [100_000n, 'CNY', '1000.00'],
    [1000n, 'JPY', '1000'],
    [-7n, 'KRW', '-7'],
    [1234n, 'KWD', '1.234'],
    [5n, 'BHD', '0.005'],
    [-1_000_000_000_000n, 'USD', '-10000000000.00'],
  ] as const)('%i %s <-> %s', (amount, currency, text) => {
    expect(toMajorUnitString(money(amount, currency))).toBe(text);
    expect(fromMajorUnitString(text, currency)).toEqual(money(amount, currency));
  });

  it.each([
    ['12.3', 'USD', 1230n],
    ['12', 'USD', 1200n],
    ['0.5', 'KWD', 500n],
    ['1.23', 'KWD', 1230n],
    ['-0', 'USD', 0n],
    ['-0.00', 'USD', 0n],
    ['10000000000.00', 'USD', 10n ** 12n],
  ] as const)('accepts %j in %s as %i', (text, currency, amount) => {
    expect(fromMajorUnitString(text, currency)?.amount).toBe(amount);
  });

  it.each([
    ['12.345', 'USD'], ['1000.0', 'JPY'], ['1000.', 'JPY'], ['1.2345', 'KWD'],
    ['', 'USD'], [' 12.34', 'USD'], ['12.34 ', 'USD'], ['12 .34', 'USD'], ['1e3', 'USD'], ['1E3', 'JPY'],
    ['+12.34', 'USD'], ['.5', 'USD'], ['12.', 'USD'], ['012.34', 'USD'], ['1,234.00', 'USD'], ['12,34', 'EUR'],
    ['--1', 'USD'], ['-', 'USD'], ['.', 'USD'], ['NaN', 'USD'], ['Infinity', 'USD'], ['0x10', 'USD'], ['١٢', 'USD'],
    ['10000000000.01', 'USD'], ['-10000000000.01', 'USD'], ['9'.repeat(40), 'JPY'],
  ] as const)('rejects %j in %s', (text, currency) => {
    expect(fromMajorUnitString(text, currency)).toBeUndefined();
  });

  it('fails an assertion on an unsupported currency', () => {
    expectAssertionFailure(() => fromMajorUnitString('1.00', 'usd'));
  });

  it('round-trips for every currency and exponent (property)', () => {
    fc.assert(
      fc.property(amountArb, fc.constantFrom(...supportedCurrencies), (amount, currency) => {
        const m = money(amount, currency);
        const text = toMajorUnitString(m);
        const exponent = currencyExponent(currency)!;
        if (exponent === 0) expect(text).toMatch(/^-?(0|[1-9][0-9]*)$/);
        else expect(text).toMatch(new RegExp(`^-?(0|[1-9][0-9]*)\\.[0-9]{${exponent}}$`));
        expect(fromMajorUnitString(text, currency)).toEqual(m);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips parsed strings back to their canonical form (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(0, 2, 3), fc.bigInt({ min: 0n, max: 10n ** 8n }) /* stays within amount_minor_max for exponent 3 */, fc.nat({ max: 999 }), fc.boolean(), (exponent, whole, fraction, negative) => {
        const currency = exponent === 0 ? 'JPY' : exponent === 2 ? 'USD' : 'KWD';
        const decimals = exponent === 0 ? '' : `.${String(fraction % 10 ** exponent).padStart(exponent, '0')}`;
        const text = `${negative && (whole > 0n || /[1-9]/.test(decimals)) ? '-' : ''}${whole}${decimals}`;
        const parsed = fromMajorUnitString(text, currency);
        expect(parsed).toBeDefined();
        expect(toMajorUnitString(parsed!)).toBe(text);
      }),
    );
  });
});
