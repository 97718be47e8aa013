// Ranking of a payment's candidate channels (DESIGN.md "Routing and risk"). Pure: everything it
// weighs is passed in (circuit states, fees for this amount, recent outcomes, the risk decision).
//
// Criteria, compared one after the other (lexicographically) in the order `rank_by` gives, then
// the ones it leaves out in the default order below; a tie on every criterion keeps the
// registry's configuration order (the sort is stable). Lower key = ranked first:
// - preference: the request's preferred_channel, then the rule's `prefer` list in its order, then the rest;
// - availability: circuit closed or half-open (its trial call) before open (open ones are candidates only when every circuit is open);
// - cost: the channel's fee for this amount (feeFor on its schedule), cheaper first;
// - success_rate: recent success rate of the channel for this method, compared in steps of
//   `routing_success_rate_step_percent` so that noise does not override the next criterion; a
//   channel with fewer than `routing_success_samples_min` recent outcomes counts as healthy;
// - risk_fit: for a payment the risk engine put in review, channels doing strong customer
//   authentication first; no difference for an approved payment.
// Only candidates are ever ranked and only `exclude`d ones are dropped: ranking never adds a channel.
import { assert } from '../kernel/errors.ts';
import { limits } from '../kernel/limits.ts';
import type { CircuitStateName } from '../channels/resilience.ts';

export const rankCriteria = ['preference', 'availability', 'cost', 'success_rate', 'risk_fit'] as const;
export type RankCriterion = (typeof rankCriteria)[number];

export interface RecentOutcomes {
  readonly succeeded: number;
  readonly total: number;
}

export interface RankCandidate {
  readonly id: string;
  readonly circuit: CircuitStateName;
  /** This payment's fee on the channel, in the payment currency's minor units. */
  readonly fee: bigint;
  /** Outcomes of this channel for this method within the sliding window. */
  readonly recent: RecentOutcomes;
  readonly strong_customer_authentication: boolean;
}

export interface RankRequest {
  /** In the registry's configuration order. */
  readonly candidates: readonly RankCandidate[];
  /** The request's preferred_channel (the customer's choice), if any. */
  readonly preferred: string | null;
  readonly prefer: readonly string[];
  readonly exclude: readonly string[];
  /** The criteria in precedence order (may be partial or empty: completed by `criteriaOrder`). */
  readonly rank_by: readonly RankCriterion[];
  /** The risk decision was `review`: risk fit favours strong customer authentication. */
  readonly elevated_risk: boolean;
}

export interface Ranking {
  readonly channels: readonly RankCandidate[];
  /** The criterion on which the first channel beat the second; null when they tie on all (configuration order) or there is one. */
  readonly decided_by: RankCriterion | null;
  /** The full precedence used. */
  readonly criteria: readonly RankCriterion[];
}

/** `rank_by` followed by the criteria it leaves out, in the default order. */
export function criteriaOrder(rankBy: readonly RankCriterion[]): RankCriterion[] {
  const order = [...rankBy];
  for (const criterion of rankCriteria) if (!order.includes(criterion)) order.push(criterion);
  assert(order.length === rankCriteria.length, 'criteriaOrder: each criterion once');
  return order;
}

// A half-open circuit ranks with the closed ones: its trial call must be able to happen while
// healthy channels exist, or a channel back from an outage would never be tried again. A call the
// breaker refuses while the trial is in flight never leaves the process and fails over safely.
const circuitKey: Readonly<Record<CircuitStateName, number>> = { closed: 0, half_open: 0, open: 1 };

/** The success-rate step a channel's recent outcomes fall in: higher is better; too few outcomes count as the best step. */
export function successStep(recent: RecentOutcomes): number {
  assert(recent.succeeded >= 0 && recent.succeeded <= recent.total, 'successStep: 0 <= succeeded <= total');
  const steps = Math.floor(100 / limits.routing_success_rate_step_percent);
  if (recent.total < limits.routing_success_samples_min) return steps - 1;
  return Math.min(steps - 1, Math.floor((recent.succeeded / recent.total) * steps));
}

function criterionKey(criterion: RankCriterion, candidate: RankCandidate, request: RankRequest): number {
  switch (criterion) {
    case 'preference': {
      if (candidate.id === request.preferred) return 0;
      const at = request.prefer.indexOf(candidate.id);
      return at < 0 ? request.prefer.length + 1 : at + 1;
    }
    case 'availability':
      return circuitKey[candidate.circuit];
    case 'cost':
      assert(candidate.fee >= 0n && candidate.fee <= BigInt(Number.MAX_SAFE_INTEGER), 'rank: a fee within the safe integers');
      return Number(candidate.fee);
    case 'success_rate':
      return -successStep(candidate.recent);
    case 'risk_fit':
      return request.elevated_risk && !candidate.strong_customer_authentication ? 1 : 0;
  }
}

/** Orders the candidates that are not excluded by the criteria; see the file comment. */
export function rankChannels(request: RankRequest): Ranking {
  const criteria = criteriaOrder(request.rank_by);
  const kept = request.candidates.filter((candidate) => !request.exclude.includes(candidate.id));
  const keyed = kept.map((candidate, position) => ({ candidate, position, keys: criteria.map((criterion) => criterionKey(criterion, candidate, request)) }));
  keyed.sort((x, y) => {
    for (let i = 0; i < criteria.length; i++) {
      const difference = x.keys[i]! - y.keys[i]!;
      if (difference !== 0) return difference;
    }
    return x.position - y.position;
  });
  let decidedBy: RankCriterion | null = null;
  const [first, second] = keyed;
  if (first && second) {
    const at = first.keys.findIndex((key, i) => key !== second.keys[i]);
    decidedBy = at < 0 ? null : criteria[at]!;
  }
  const channels = keyed.map((k) => k.candidate);
  assert(channels.length === kept.length && channels.every((c) => !request.exclude.includes(c.id)), 'rankChannels: every kept candidate once, no excluded one');
  return { channels, decided_by: decidedBy, criteria };
}

function percent(recent: RecentOutcomes): string {
  if (recent.total < limits.routing_success_samples_min) return `no data (${recent.total} outcome(s))`;
  return `${Math.round((recent.succeeded / recent.total) * 100)}% of ${recent.total}`;
}

/** The values that decided between the first two channels, in words: `card_b fee 65 < card_a 80`. */
export function decidingValues(ranking: Ranking, request: Pick<RankRequest, 'preferred' | 'prefer' | 'elevated_risk'>): string {
  const [first, second] = ranking.channels;
  if (!first) return 'no candidate';
  if (!second) return 'only candidate';
  switch (ranking.decided_by) {
    case null:
      return `tie with ${second.id} on every criterion: configuration order`;
    case 'preference':
      return first.id === request.preferred ? `preferred_channel ${first.id}` : `rule prefers ${first.id}`;
    case 'availability':
      return `${first.id} circuit ${first.circuit}, ${second.id} ${second.circuit}`;
    case 'cost':
      return `${first.id} fee ${first.fee} < ${second.id} ${second.fee}`;
    case 'success_rate':
      return `${first.id} ${percent(first.recent)} > ${second.id} ${percent(second.recent)}`;
    case 'risk_fit':
      return `review risk: ${first.id} does strong customer authentication, ${second.id} does not`;
  }
}
