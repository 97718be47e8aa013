import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { feeFor, feeSchedule } from './fees.ts';
import { money } from './money.ts';

describe('feeFor', () => {
  it('is bps of the gross, HALF_UP, plus the fixed part', () => {
    expect(feeFor(feeSchedule(290, 30n), money(1000n, 'USD')).amount).toBe(59n); // 29 + 30
    expect(feeFor(feeSchedule(250, 0n), money(10n, 'USD')).amount).toBe(0n); // 0.25 -> 0
    expect(feeFor(feeSchedule(250, 0n), money(20n, 'USD')).amount).toBe(1n); // 0.5 -> 1 (HALF_UP)
    expect(feeFor(feeSchedule(60, 0n), money(12345n, 'CNY')).amount).toBe(74n); // 74.07
  });

  it('never exceeds the gross and never goes below the percentage part', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.bigInt({ min: 0n, max: 10_000n }), fc.bigInt({ min: 0n, max: 10n ** 12n }), (bps, fixed, gross) => {
        const fee = feeFor(feeSchedule(bps, fixed), money(gross, 'USD')).amount;
        expect(fee >= 0n && fee <= gross).toBe(true);
        expect(fee >= (gross * BigInt(bps)) / 10_000n || fee === gross).toBe(true);
      }),
    );
  });

  it('refuses a schedule outside its bounds', () => {
    expect(() => feeSchedule(10_001, 0n)).toThrow();
    expect(() => feeSchedule(-1, 0n)).toThrow();
    expect(() => feeSchedule(10, -1n)).toThrow();
  });
});
