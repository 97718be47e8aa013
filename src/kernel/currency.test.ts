import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { currencyExponent, isSupportedCurrency, normalizeCurrency, supportedCurrencies } from './currency.ts';

describe('currency table', () => {
  it.each([
    ['USD', 2], ['EUR', 2], ['CNY', 2], ['GBP', 2], ['HKD', 2], ['SGD', 2], ['INR', 2], ['HUF', 2], ['TWD', 2],
    ['JPY', 0], ['KRW', 0], ['VND', 0], ['CLP', 0], ['ISK', 0], ['XAF', 0], ['XOF', 0], ['XPF', 0], ['UGX', 0], ['PYG', 0],
    ['BHD', 3], ['KWD', 3], ['OMR', 3], ['JOD', 3], ['TND', 3], ['LYD', 3], ['IQD', 3],
  ] as const)('%s has exponent %i', (code, exponent) => {
    expect(currencyExponent(code)).toBe(exponent);
    expect(isSupportedCurrency(code)).toBe(true);
  });

  it('lists every code once, upper case, sorted, each with exponent 0, 2 or 3', () => {
    expect(supportedCurrencies.length).toBeGreaterThan(150);
    expect(new Set(supportedCurrencies).size).toBe(supportedCurrencies.length);
    expect([...supportedCurrencies].sort()).toEqual(supportedCurrencies);
    for (const code of supportedCurrencies) {
      expect(code).toMatch(/^[A-Z]{3}$/);
      expect([0, 2, 3]).toContain(currencyExponent(code));
    }
    expect(Object.isFrozen(supportedCurrencies)).toBe(true);
  });

  it.each(['XAU', 'XAG', 'XDR', 'XTS', 'XXX', 'CLF', 'UYW', 'HRK', 'BGN', 'ANG', 'ZWL', 'SLL', 'ABC'])(
    'does not support %s',
    (code) => {
      expect(isSupportedCurrency(code)).toBe(false);
      expect(currencyExponent(code)).toBeUndefined();
    },
  );

  it('is not fooled by object prototype names or lower case', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'usd', 'Usd']) {
      expect(isSupportedCurrency(name)).toBe(false);
      expect(currencyExponent(name)).toBeUndefined();
    }
  });
});

describe('normalizeCurrency', () => {
  it('accepts either case and returns upper case', () => {
    expect(normalizeCurrency('usd')).toBe('USD');
    expect(normalizeCurrency('USD')).toBe('USD');
    expect(normalizeCurrency('cNy')).toBe('CNY');
    expect(normalizeCurrency('jpy')).toBe('JPY');
  });

  it.each(['', 'US', 'USDD', ' usd', 'usd ', 'u$d', 'xxx', 'xau', '123', 'ÜSD', 'usd\n'])('rejects %j', (input) => {
    expect(normalizeCurrency(input)).toBeUndefined();
  });

  it('rejects values that are not strings', () => {
    expect(normalizeCurrency(undefined as unknown as string)).toBeUndefined();
    expect(normalizeCurrency(840 as unknown as string)).toBeUndefined();
  });

  it('round-trips every supported code in any casing (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...supportedCurrencies), fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), (code, lower) => {
        const mixed = [...code].map((ch, i) => (lower[i] ? ch.toLowerCase() : ch)).join('');
        expect(normalizeCurrency(mixed)).toBe(code);
      }),
    );
  });

  it('returns only supported codes for arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 6 }), (input) => {
        const code = normalizeCurrency(input);
        if (code !== undefined) {
          expect(isSupportedCurrency(code)).toBe(true);
          expect(code).toBe(input.toUpperCase());
        }
      }),
    );
  });
});
