import { describe, expect, it } from 'vitest';
import { bankFaultSpec, BankFaultState, noBankFaults, validateBankFaults } from './bank.ts';
import { FaultModel, noFaultsOf, validateFaultPatch } from './faults.ts';

describe('the sandboxes\' fault model', () => {
  const spec = { outage: 'flag', error_rate: 'rate', latency_ms: { integer_max: 100 } } as const;

  it('starts with every fault off, in the spec\'s order', () => {
    expect(Object.entries(noFaultsOf(spec))).toEqual([['outage', false], ['error_rate', 0], ['latency_ms', 0]]);
    expect(Object.keys(noBankFaults)).toEqual(Object.keys(bankFaultSpec));
    expect(new BankFaultState(() => 0).get()).toEqual(noBankFaults);
  });

  it('names the bad field, with the message of its kind', () => {
    expect(validateFaultPatch(spec, [])).toEqual({ ok: false, param: '', message: 'faults must be an object' });
    expect(validateFaultPatch(spec, { surprise: 1 })).toEqual({ ok: false, param: 'surprise', message: 'unknown fault surprise' });
    expect(validateFaultPatch(spec, { toString: 1 })).toEqual({ ok: false, param: 'toString', message: 'unknown fault toString' });
    expect(validateFaultPatch(spec, { outage: 1 })).toEqual({ ok: false, param: 'outage', message: 'outage must be a boolean' });
    expect(validateFaultPatch(spec, { error_rate: 1.5 })).toEqual({ ok: false, param: 'error_rate', message: 'error_rate must be a number in 0..1' });
    expect(validateFaultPatch(spec, { latency_ms: 101 })).toEqual({ ok: false, param: 'latency_ms', message: 'latency_ms must be an integer in 0..100' });
    expect(validateFaultPatch(spec, { latency_ms: 1.5 })).toMatchObject({ ok: false, param: 'latency_ms' });
    expect(validateBankFaults({ latency_ms: 60_001 })).toEqual({ ok: false, param: 'latency_ms', message: 'latency_ms must be an integer in 0..60000' });
    expect(validateBankFaults({ return_rate: 0.25, outage: true })).toEqual({ ok: true, value: { return_rate: 0.25, outage: true } });
  });

  it('patches, resets, and rolls a rate with the injected random (a rate of 0 never draws)', () => {
    const draws = [0.5, 0.1];
    const faults = new FaultModel(spec, () => draws.shift() ?? 0);
    expect(() => faults.set({ error_rate: 2 })).toThrow(new RangeError('setFaults: error_rate must be a number in 0..1'));
    faults.set({ error_rate: 0.2 });
    faults.set({ outage: true });
    expect(faults.get()).toEqual({ outage: true, error_rate: 0.2, latency_ms: 0 });
    expect(faults.roll('error_rate')).toBe(false);
    expect(faults.roll('error_rate')).toBe(true);
    faults.reset();
    expect(faults.roll('error_rate')).toBe(false);
    expect(draws).toEqual([]);
    expect(new FaultModel(spec, () => 1).get()).toEqual(faults.none);
  });
});
