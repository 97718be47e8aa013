// What the money-flow model test generates (fast-check): a few merchants, each with its pricing,
// settlement schedule and payout settings, and a run of phases. A phase starts when the clock is
// moved on by whole hours; in it every merchant's operations run one after another, all merchants
// at once, beside the platform's (settlement runs, bank faults), while payout workers run in the
// background. Scenarios are plain data, so a shrunk counterexample prints as it is.
import fc from 'fast-check';
import { schedules, type Method, type PricingRuleSpec, type ScheduleName } from './model.ts';

export const accountKinds = ['normal', 'rejected_by_bank_api', 'rejected_by_bank_file', 'rejected_by_all', 'returned'] as const;
export type AccountKind = (typeof accountKinds)[number];

export const cardCurrencies = ['USD', 'EUR', 'JPY', 'CNY'] as const;

export interface MerchantSpec {
  readonly pricing: readonly PricingRuleSpec[] | null;
  readonly schedule: ScheduleName;
  readonly payoutCurrency: (typeof cardCurrencies)[number];
  readonly payoutMinimum: number;
  readonly account: AccountKind;
}

export type MerchantOp =
  /** `home`: the merchant's payout currency (so that payouts find money to pay out). */
  | { readonly op: 'card'; readonly currency: string; readonly amount: number; readonly declined: boolean }
  | { readonly op: 'wallet'; readonly method: 'alipay' | 'wechat_pay'; readonly amount: number; readonly completed: boolean }
  | { readonly op: 'refund'; readonly pick: number; readonly part: 'full' | 'half' | 'one' | 'over' }
  | { readonly op: 'payout'; readonly part: 'all' | 'half' | 'below_minimum' | 'too_much' }
  | { readonly op: 'pricing'; readonly rules: readonly PricingRuleSpec[] };

export type PlatformOp =
  | { readonly op: 'settle'; readonly daysBack: number; readonly merchant: number | null; readonly twice: boolean }
  | { readonly op: 'bank_faults'; readonly bank: 'bank_api' | 'bank_file'; readonly faults: 'errors' | 'timeouts' | 'outage' | 'latency' | 'none' };

export interface Phase {
  /** Whole hours the clock moves on before the phase (the first phase starts at the run's start). */
  readonly advanceHours: number;
  readonly merchantOps: readonly { readonly m: number; readonly op: MerchantOp }[];
  readonly platformOps: readonly PlatformOp[];
}

export interface Scenario {
  readonly merchants: readonly MerchantSpec[];
  readonly phases: readonly Phase[];
}

const methods: readonly Method[] = ['card', 'alipay', 'wechat_pay'];

const ruleArb: fc.Arbitrary<PricingRuleSpec> = fc.record(
  {
    method: fc.constantFrom(...methods),
    currency: fc.constantFrom(...cardCurrencies),
    percent_bps: fc.oneof(fc.integer({ min: 0, max: 500 }), fc.constantFrom(0, 1, 250, 10_000)),
    fixed_amount: fc.oneof(fc.integer({ min: 0, max: 60 }), fc.constant(0)),
    refund_fee: fc.constantFrom('proportional' as const, 'retained' as const),
  },
  { requiredKeys: ['method', 'percent_bps', 'fixed_amount', 'refund_fee'] },
);
const rulesArb = fc.array(ruleArb, { maxLength: 3 });

const merchantArb: fc.Arbitrary<MerchantSpec> = fc.record({
  pricing: fc.option(rulesArb, { nil: null, freq: 3 }),
  schedule: fc.constantFrom(...(Object.keys(schedules) as ScheduleName[])),
  payoutCurrency: fc.constantFrom(...cardCurrencies),
  payoutMinimum: fc.constantFrom(0, 100, 1_000),
  account: fc.constantFrom(...accountKinds),
});

/** Amounts around the fee roundings and the small end as well as ordinary ones. */
const amountArb = fc.oneof(fc.integer({ min: 50, max: 400 }), fc.integer({ min: 401, max: 250_000 }));

const merchantOpArb: fc.Arbitrary<MerchantOp> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('card' as const), currency: fc.oneof({ weight: 3, arbitrary: fc.constant('home') }, { weight: 2, arbitrary: fc.constantFrom(...cardCurrencies) }), amount: amountArb, declined: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('wallet' as const), method: fc.constantFrom('alipay' as const, 'wechat_pay' as const), amount: fc.integer({ min: 1, max: 200_000 }), completed: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('refund' as const), pick: fc.nat(50), part: fc.constantFrom('full' as const, 'half' as const, 'half' as const, 'one' as const, 'over' as const) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('payout' as const), part: fc.constantFrom('all' as const, 'all' as const, 'half' as const, 'half' as const, 'below_minimum' as const, 'too_much' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('pricing' as const), rules: rulesArb }) },
);

const platformOpArb: fc.Arbitrary<PlatformOp> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('settle' as const), daysBack: fc.constantFrom(0, 1, 1, 1, 1, 1, 2, 3), merchant: fc.option(fc.nat(3), { nil: null, freq: 3 }), twice: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('bank_faults' as const), bank: fc.constantFrom('bank_api' as const, 'bank_file' as const), faults: fc.constantFrom('errors' as const, 'timeouts' as const, 'outage' as const, 'latency' as const, 'none' as const) }) },
);

const phaseArb: fc.Arbitrary<Phase> = fc.record({
  advanceHours: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 6, max: 26 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }) }),
  merchantOps: fc.array(fc.record({ m: fc.nat(3), op: merchantOpArb }), { minLength: 6, maxLength: 12 }),
  platformOps: fc.array(platformOpArb, { minLength: 1, maxLength: 3 }),
});

export const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  merchants: fc.array(merchantArb, { minLength: 2, maxLength: 4 }),
  phases: fc.array(phaseArb, { minLength: 5, maxLength: 8 }),
});
