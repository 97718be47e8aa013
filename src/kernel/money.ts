// Money: a bigint of minor units with its ISO 4217 currency. Exact arithmetic, explicit rounding,
// allocation that loses no minor unit. Pure; no I/O.
//
// Bounds: every Money satisfies -amount_minor_max <= amount <= amount_minor_max. Leaving the bound
// is an operating error (user data can get there), so it throws ClearwayError('amount_too_large').
// Everything else that goes wrong here (unknown currency, mixed currencies, a zero denominator) is
// a programmer error and fails an assertion.

import { assert, ClearwayError } from './errors.ts';
import { currencyExponent, isSupportedCurrency } from './currency.ts';
import { limits } from './limits.ts';

export interface Money {
  /** Minor units (cents, fen, yen, fils). */
  readonly amount: bigint;
  /** Upper-case ISO 4217 code from the currency table. */
  readonly currency: string;
}

export type RoundingMode = 'HALF_UP' | 'HALF_EVEN' | 'HALF_DOWN' | 'UP' | 'DOWN' | 'CEILING' | 'FLOOR';

/** An exact rational rate, numerator / denominator, with a positive denominator. */
export interface Rate {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

/**
 * Most parts one allocation may split into. It belongs in limits.ts; it lives here until the
 * lead moves it (this change may not edit limits.ts).
 */
export const allocation_parts_max = limits.allocation_parts_max;

/** Longest string fromMajorUnitString looks at: sign, 13 integer digits, point and 3 decimals fit. */
const major_unit_string_length_max = 32;

export function money(amount: bigint, currency: string): Money {
  assert(typeof amount === 'bigint', 'money: amount must be a bigint');
  assert(isSupportedCurrency(currency), `money: unsupported currency ${String(currency)}`);
  checkAmountBound(amount);
  return Object.freeze({ amount, currency });
}

export function isAmountWithinBound(amount: bigint): boolean {
  return amount >= -limits.amount_minor_max && amount <= limits.amount_minor_max;
}

function checkAmountBound(amount: bigint): void {
  if (!isAmountWithinBound(amount)) {
    throw new ClearwayError('amount_too_large', `The amount ${amount} is outside ±${limits.amount_minor_max} minor units.`);
  }
}

function assertMoney(m: Money): void {
  assert(typeof m.amount === 'bigint' && isSupportedCurrency(m.currency), 'not a Money value');
  assert(isAmountWithinBound(m.amount), 'Money value out of bounds');
}

function assertSameCurrency(a: Money, b: Money): void {
  assertMoney(a);
  assertMoney(b);
  assert(a.currency === b.currency, `currency mismatch: ${a.currency} and ${b.currency}`);
}

export function add(a: Money, b: Money): Money {
  assertSameCurrency(a, b);
  return money(a.amount + b.amount, a.currency);
}

export function subtract(a: Money, b: Money): Money {
  assertSameCurrency(a, b);
  return money(a.amount - b.amount, a.currency);
}

export function multiply(m: Money, factor: bigint): Money {
  assertMoney(m);
  assert(typeof factor === 'bigint', 'multiply: factor must be a bigint');
  return money(m.amount * factor, m.currency);
}

export function negate(m: Money): Money {
  assertMoney(m);
  return money(-m.amount, m.currency);
}

/** -1, 0 or 1. */
export function compare(a: Money, b: Money): -1 | 0 | 1 {
  assertSameCurrency(a, b);
  if (a.amount < b.amount) return -1;
  return a.amount > b.amount ? 1 : 0;
}

export function isZero(m: Money): boolean {
  assertMoney(m);
  return m.amount === 0n;
}

export function isNegative(m: Money): boolean {
  assertMoney(m);
  return m.amount < 0n;
}

export function min(a: Money, b: Money): Money {
  return compare(a, b) <= 0 ? a : b;
}

export function max(a: Money, b: Money): Money {
  return compare(a, b) >= 0 ? a : b;
}

/** Sum in one currency; an empty list sums to zero. Only the total must be within the bound. */
export function sum(list: readonly Money[], currency: string): Money {
  assert(isSupportedCurrency(currency), `sum: unsupported currency ${String(currency)}`);
  let total = 0n;
  for (const m of list) {
    assertMoney(m);
    assert(m.currency === currency, `sum: ${m.currency} in a ${currency} sum`);
    total += m.amount;
  }
  return money(total, currency);
}

/**
 * numerator / denominator rounded to an integer by `mode`, exactly. HALF_UP rounds a half away
 * from zero (2.5 -> 3, -2.5 -> -3); UP is away from zero, DOWN towards zero.
 */
export function divideRounded(numerator: bigint, denominator: bigint, mode: RoundingMode = 'HALF_UP'): bigint {
  assert(typeof numerator === 'bigint' && typeof denominator === 'bigint', 'divideRounded: bigint operands');
  assert(denominator !== 0n, 'divideRounded: division by zero');
  const n = denominator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const truncated = n / d; // towards zero
  const remainder = n % d; // sign of n, |remainder| < d
  if (remainder === 0n) return truncated;
  const away = truncated + (n < 0n ? -1n : 1n);
  const twiceRemainder = remainder < 0n ? -2n * remainder : 2n * remainder;
  const result = roundedQuotient(mode, n < 0n, truncated, away, twiceRemainder, d);
  assert(result === truncated || result === away, 'divideRounded: result must be a neighbour');
  return result;
}

function roundedQuotient(
  mode: RoundingMode,
  negative: boolean,
  truncated: bigint,
  away: bigint,
  twiceRemainder: bigint,
  denominator: bigint,
): bigint {
  switch (mode) {
    case 'UP':
      return away;
    case 'DOWN':
      return truncated;
    case 'CEILING':
      return negative ? truncated : away;
    case 'FLOOR':
      return negative ? away : truncated;
    case 'HALF_UP':
    case 'HALF_DOWN':
    case 'HALF_EVEN': {
      if (twiceRemainder > denominator) return away;
      if (twiceRemainder < denominator) return truncated;
      if (mode === 'HALF_UP') return away;
      if (mode === 'HALF_DOWN') return truncated;
      return truncated % 2n === 0n ? truncated : away;
    }
    default: {
      const unknown: never = mode;
      throw new Error(`assertion failed: unknown rounding mode ${String(unknown)}`);
    }
  }
}

/** bps / 10 000: basisPoints(250n) is 2.5 %. */
export function basisPoints(bps: bigint): Rate {
  assert(typeof bps === 'bigint' && bps >= 0n, 'basisPoints: a non-negative bigint');
  return Object.freeze({ numerator: bps, denominator: 10_000n });
}

/** ppm / 1 000 000. */
export function partsPerMillion(ppm: bigint): Rate {
  assert(typeof ppm === 'bigint' && ppm >= 0n, 'partsPerMillion: a non-negative bigint');
  return Object.freeze({ numerator: ppm, denominator: 1_000_000n });
}

/** m × rate, rounded to the minor unit by `mode`. */
export function applyRate(m: Money, rate: Rate, mode: RoundingMode = 'HALF_UP'): Money {
  assertMoney(m);
  assert(typeof rate.numerator === 'bigint' && typeof rate.denominator === 'bigint', 'applyRate: bigint rate');
  assert(rate.denominator > 0n, 'applyRate: the rate denominator must be positive');
  return money(divideRounded(m.amount * rate.numerator, rate.denominator, mode), m.currency);
}

/**
 * Splits `total` across parts in proportion to `weights` (non-negative, at least one positive) by
 * the largest-remainder method: each part is its exact share rounded down or up, the parts sum to
 * `total` exactly, and ties go to the lower index. A part with weight 0 gets 0. A negative total
 * is split as its magnitude, then negated, so the result is symmetric.
 */
export function allocate(total: Money, weights: readonly bigint[]): Money[] {
  assertMoney(total);
  assert(weights.length >= 1 && weights.length <= allocation_parts_max, 'allocate: 1..allocation_parts_max weights');
  let weightTotal = 0n;
  for (const weight of weights) {
    assert(typeof weight === 'bigint' && weight >= 0n, 'allocate: weights must be non-negative bigints');
    weightTotal += weight;
  }
  assert(weightTotal > 0n, 'allocate: at least one weight must be positive');
  const negative = total.amount < 0n;
  const magnitudes = allocateMagnitude(negative ? -total.amount : total.amount, weights, weightTotal);
  const parts = magnitudes.map((part) => money(negative ? -part : part, total.currency));
  assert(sum(parts, total.currency).amount === total.amount, 'allocate: parts must sum to the total');
  return parts;
}

function allocateMagnitude(amount: bigint, weights: readonly bigint[], weightTotal: bigint): bigint[] {
  assert(amount >= 0n && weightTotal > 0n, 'allocateMagnitude: non-negative amount, positive weights');
  const parts = weights.map((weight) => (amount * weight) / weightTotal);
  const remainders = weights.map((weight) => (amount * weight) % weightTotal);
  let leftover = amount - parts.reduce((a, b) => a + b, 0n);
  // leftover × weightTotal = Σ remainders and each remainder < weightTotal, so more than
  // `leftover` parts have a positive remainder: only those receive a unit.
  assert(leftover >= 0n && leftover < BigInt(weights.length), 'allocateMagnitude: leftover below part count');
  const order = weights.map((_, index) => index);
  order.sort((a, b) => {
    const ra = remainders[a]!;
    const rb = remainders[b]!;
    if (ra !== rb) return ra > rb ? -1 : 1;
    return a - b;
  });
  for (const index of order) {
    if (leftover === 0n) break;
    assert(remainders[index]! > 0n, 'allocateMagnitude: a unit goes only to a part with a remainder');
    parts[index] = parts[index]! + 1n;
    leftover -= 1n;
  }
  return parts;
}

/** Splits `total` into `parts` parts that differ by at most one minor unit, larger ones first. */
export function allocateEvenly(total: Money, parts: number): Money[] {
  assert(Number.isSafeInteger(parts) && parts >= 1 && parts <= allocation_parts_max, 'allocateEvenly: 1..allocation_parts_max parts');
  return allocate(total, new Array<bigint>(parts).fill(1n));
}

/** Major units as a plain decimal string with every digit of the exponent: "12.34", "-0.05", "1000". */
export function toMajorUnitString(m: Money): string {
  assertMoney(m);
  const exponent = currencyExponent(m.currency);
  assert(exponent !== undefined, 'toMajorUnitString: currency without exponent');
  const sign = m.amount < 0n ? '-' : '';
  const digits = (m.amount < 0n ? -m.amount : m.amount).toString();
  if (exponent === 0) return sign + digits;
  const padded = digits.padStart(exponent + 1, '0');
  return `${sign}${padded.slice(0, -exponent)}.${padded.slice(-exponent)}`;
}

/**
 * Parses a major-unit decimal string from a channel. Strict: an optional minus, digits without
 * leading zeros, and at most `exponent` decimals ("12.3" is fine for USD, "12.345" is not).
 * No plus sign, spaces, exponent notation, bare point or empty string. Undefined when the string
 * is malformed or the amount is outside the bound. The currency must be a supported code.
 */
export function fromMajorUnitString(value: string, currency: string): Money | undefined {
  assert(isSupportedCurrency(currency), `fromMajorUnitString: unsupported currency ${String(currency)}`);
  const exponent = currencyExponent(currency)!;
  if (typeof value !== 'string' || value.length === 0 || value.length > major_unit_string_length_max) return undefined;
  const match = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?$/.exec(value);
  if (match === null) return undefined;
  const [, sign, integerDigits, decimalDigits = ''] = match;
  if (decimalDigits.length > exponent) return undefined;
  const magnitude = BigInt(integerDigits! + decimalDigits.padEnd(exponent, '0'));
  const amount = sign === '-' ? -magnitude : magnitude;
  if (!isAmountWithinBound(amount)) return undefined;
  return money(amount, currency);
}
