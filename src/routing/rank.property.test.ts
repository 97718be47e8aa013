import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { limits } from '../kernel/limits.ts';
import { criteriaOrder, decidingValues, rankChannels, rankCriteria, successStep, type RankCandidate, type RankCriterion, type RankRequest } from './rank.ts';

const ids = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'];

const recentArbitrary = fc.integer({ min: 0, max: 40 }).chain((total) => fc.integer({ min: 0, max: total }).map((succeeded) => ({ succeeded, total })));

const candidateArbitrary = (id: string): fc.Arbitrary<RankCandidate> =>
  fc.record({
    id: fc.constant(id),
    circuit: fc.constantFrom('closed' as const, 'half_open' as const, 'open' as const),
    fee: fc.bigInt({ min: 0n, max: 5_000n }),
    recent: recentArbitrary,
    strong_customer_authentication: fc.boolean(),
  });

const candidatesArbitrary = fc
  .subarray(ids, { minLength: 0, maxLength: ids.length })
  .chain((chosen) => fc.tuple(...chosen.map(candidateArbitrary)))
  .map((list) => list as RankCandidate[]);

const rankByArbitrary = fc.shuffledSubarray([...rankCriteria]) as fc.Arbitrary<RankCriterion[]>;

const requestArbitrary: fc.Arbitrary<RankRequest> = fc.record({
  candidates: candidatesArbitrary,
  preferred: fc.option(fc.constantFrom(...ids, 'elsewhere'), { nil: null }),
  prefer: fc.shuffledSubarray(ids, { maxLength: 3 }),
  exclude: fc.shuffledSubarray(ids, { maxLength: 3 }),
  rank_by: rankByArbitrary,
  elevated_risk: fc.boolean(),
});

/** Candidates that differ in nothing but id (and, per test, one field). */
function uniform(count: number, overrides: (index: number) => Partial<RankCandidate> = () => ({})): RankCandidate[] {
  return Array.from({ length: count }, (_, i) => ({ id: `c${i}`, circuit: 'closed', fee: 100n, recent: { succeeded: 10, total: 10 }, strong_customer_authentication: false, ...overrides(i) }));
}

const neutral = { preferred: null, prefer: [], exclude: [], elevated_risk: false } as const;

describe('rankChannels', () => {
  it('never adds a channel and drops exactly the excluded ones', () => {
    fc.assert(
      fc.property(requestArbitrary, (request) => {
        const ranked = rankChannels(request).channels.map((c) => c.id);
        const expected = request.candidates.map((c) => c.id).filter((id) => !request.exclude.includes(id));
        expect([...ranked].sort()).toEqual([...expected].sort());
        expect(new Set(ranked).size).toBe(ranked.length);
        for (const id of request.exclude) expect(ranked).not.toContain(id);
      }),
    );
  });

  it('keeps the configuration order among candidates equal on every criterion (stable ties)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), rankByArbitrary, fc.boolean(), (count, rankBy, elevated) => {
        const ranking = rankChannels({ ...neutral, candidates: uniform(count), rank_by: rankBy, elevated_risk: elevated });
        expect(ranking.channels.map((c) => c.id)).toEqual(uniform(count).map((c) => c.id));
        expect(ranking.decided_by).toBeNull();
      }),
    );
  });

  it('puts the cheaper channel first when all else is equal, whatever the criteria order', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: 10_000n }), { minLength: 1, maxLength: 6 }), rankByArbitrary, (fees, rankBy) => {
        const candidates = uniform(fees.length, (i) => ({ fee: fees[i]! }));
        const ranked = rankChannels({ ...neutral, candidates, rank_by: rankBy }).channels;
        for (let i = 1; i < ranked.length; i++) {
          expect(ranked[i - 1]!.fee <= ranked[i]!.fee).toBe(true);
          // equal fees keep the configuration order
          if (ranked[i - 1]!.fee === ranked[i]!.fee) expect(ranked[i - 1]!.id < ranked[i]!.id).toBe(true);
        }
      }),
    );
  });

  it('lets a channel whose success rate collapses fall behind the healthy ones when success_rate comes before cost', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), fc.nat(), fc.array(fc.bigInt({ min: 0n, max: 10_000n }), { minLength: 6, maxLength: 6 }), (count, pick, fees) => {
        const collapsing = pick % count;
        const candidates = uniform(count, (i) => ({ fee: fees[i]!, recent: i === collapsing ? { succeeded: 1, total: 20 } : { succeeded: 19, total: 20 } }));
        const ranking = rankChannels({ ...neutral, candidates, rank_by: ['success_rate', 'cost'] });
        expect(ranking.channels.at(-1)!.id).toBe(`c${collapsing}`);
      }),
    );
  });

  it('never ranks a channel earlier because its recent outcomes got worse or its fee higher', () => {
    fc.assert(
      fc.property(requestArbitrary, fc.nat(), fc.bigInt({ min: 1n, max: 1_000n }), (request, pick, raise) => {
        if (request.candidates.length === 0) return;
        const target = request.candidates[pick % request.candidates.length]!;
        const before = rankChannels(request).channels.findIndex((c) => c.id === target.id);
        if (before < 0) return; // excluded
        const worse = request.candidates.map((c) => (c.id === target.id ? { ...c, fee: c.fee + raise, recent: { succeeded: 0, total: Math.max(c.recent.total, limits.routing_success_samples_min) } } : c));
        const after = rankChannels({ ...request, candidates: worse }).channels.findIndex((c) => c.id === target.id);
        expect(after).toBeGreaterThanOrEqual(before);
      }),
    );
  });

  it('puts the customer\'s preferred channel first unless excluded, under the default order', () => {
    fc.assert(
      fc.property(requestArbitrary, (request) => {
        const first = rankChannels({ ...request, rank_by: [] }).channels[0];
        const offered = request.candidates.some((c) => c.id === request.preferred) && !request.exclude.includes(request.preferred!);
        if (offered) expect(first?.id).toBe(request.preferred);
      }),
    );
  });

  it('ranks a half-open circuit with the closed ones (its trial call must happen), open ones last, and strong authentication first for a payment in review', () => {
    const halfOpenFirst = uniform(2, (i) => ({ circuit: i === 0 ? 'half_open' : 'closed' }));
    expect(rankChannels({ ...neutral, candidates: halfOpenFirst, rank_by: [] })).toMatchObject({ channels: [{ id: 'c0' }, { id: 'c1' }], decided_by: null });
    const openFirst = uniform(2, (i) => ({ circuit: i === 0 ? 'open' : 'half_open' }));
    expect(rankChannels({ ...neutral, candidates: openFirst, rank_by: [] })).toMatchObject({ channels: [{ id: 'c1' }, { id: 'c0' }], decided_by: 'availability' });
    const strongSecond = uniform(2, (i) => ({ strong_customer_authentication: i === 1 }));
    expect(rankChannels({ ...neutral, candidates: strongSecond, rank_by: [] }).channels[0]!.id).toBe('c0');
    const review = rankChannels({ ...neutral, candidates: strongSecond, rank_by: [], elevated_risk: true });
    expect(review).toMatchObject({ channels: [{ id: 'c1' }, { id: 'c0' }], decided_by: 'risk_fit' });
    expect(decidingValues(review, { ...neutral, elevated_risk: true })).toBe('review risk: c1 does strong customer authentication, c0 does not');
  });

  it('follows rank_by, then the default order for the criteria it leaves out', () => {
    expect(criteriaOrder([])).toEqual([...rankCriteria]);
    expect(criteriaOrder(['cost', 'success_rate'])).toEqual(['cost', 'success_rate', 'preference', 'availability', 'risk_fit']);
    const candidates = uniform(2, (i) => ({ fee: i === 0 ? 300n : 200n }));
    const byPreference = rankChannels({ ...neutral, prefer: ['c0'], candidates, rank_by: [] });
    expect(byPreference).toMatchObject({ channels: [{ id: 'c0' }, { id: 'c1' }], decided_by: 'preference' });
    expect(decidingValues(byPreference, { ...neutral, prefer: ['c0'] })).toBe('rule prefers c0');
    const byCost = rankChannels({ ...neutral, prefer: ['c0'], candidates, rank_by: ['cost'] });
    expect(byCost).toMatchObject({ channels: [{ id: 'c1' }, { id: 'c0' }], decided_by: 'cost' });
    expect(decidingValues(byCost, neutral)).toBe('c1 fee 200 < c0 300');
  });

  it('compares success rates in steps, counting too few outcomes as healthy', () => {
    const steps = 100 / limits.routing_success_rate_step_percent;
    expect(successStep({ succeeded: 0, total: 0 })).toBe(steps - 1);
    expect(successStep({ succeeded: 0, total: limits.routing_success_samples_min - 1 })).toBe(steps - 1);
    expect(successStep({ succeeded: 20, total: 20 })).toBe(steps - 1);
    expect(successStep({ succeeded: 19, total: 20 })).toBe(steps - 1);
    expect(successStep({ succeeded: 0, total: 20 })).toBe(0);
    // 99 % and 96 % are the same step: cost decides between them
    const close = uniform(2, (i) => ({ recent: i === 0 ? { succeeded: 96, total: 100 } : { succeeded: 99, total: 100 }, fee: i === 0 ? 1n : 2n }));
    expect(rankChannels({ ...neutral, candidates: close, rank_by: ['success_rate', 'cost'] }).decided_by).toBe('cost');
  });
});
