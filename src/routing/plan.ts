// The routing decision of a payment under a merchant's policy (or, for a merchant without one,
// the default ranking: no rules, the default order of criteria): the arm its id falls in, the first
// rule matching it (time windows read at the app clock's now), the candidates' fees for this
// amount and recent success rates, ranked (rank.ts), and why each planned channel was chosen.
// No I/O: the policy comes from the 1 s cache and the success rates from this process's window.
import type { ChannelMethod } from '../channels/contract.ts';
import type { Channel, Route } from '../channels/registry.ts';
import { assert } from '../kernel/errors.ts';
import { feeFor } from '../kernel/fees.ts';
import { limits } from '../kernel/limits.ts';
import { money } from '../kernel/money.ts';
import { armOf, describeRule, ruleMatches, rulesOfArm, type RoutingArm, type RoutingPolicy } from './policy.ts';
import { decidingValues, rankChannels, type RankCandidate } from './rank.ts';
import type { SuccessWindow } from './success-window.ts';

export interface PolicyPlanRequest {
  readonly route: Route;
  readonly method: ChannelMethod;
  readonly currency: string;
  readonly amount: bigint;
  /** The request's preferred_channel. */
  readonly preferred: string | undefined;
  readonly policy: RoutingPolicy;
  readonly paymentId: string;
  /** The risk engine's decision (null when not screened, e.g. in the benchmark). */
  readonly risk: { readonly decision: string } | null;
  /** The app clock's now. */
  readonly now: Date;
  readonly successes: SuccessWindow;
}

export interface PlannedChannel {
  readonly channel: Channel;
  readonly routing_reason: string;
}

export interface PolicyPlan {
  readonly channels: PlannedChannel[];
  /** null: the default ranking (no policy in force). */
  readonly choice: { readonly policy_version: number | null; readonly arm: RoutingArm | null };
}

/** Cuts a reason to `routing_reason_length_max` characters. */
export function boundedReason(reason: string): string {
  const max = limits.routing_reason_length_max;
  return reason.length <= max ? reason : `${reason.slice(0, max - 1)}…`;
}

export function planByPolicy(request: PolicyPlanRequest): PolicyPlan {
  const { route, method, currency, amount, policy } = request;
  assert(policy.version > 0 || (policy.rules.length === 0 && policy.experiment === null), 'planByPolicy: a policy in force, or the default (version 0, no rules)');
  const arm = armOf(policy, request.paymentId);
  const rules = rulesOfArm(policy, arm);
  const index = rules.findIndex((r) => ruleMatches(r, method, currency, amount, request.now));
  const rule = index >= 0 ? rules[index]! : null;
  const gross = money(amount, currency);
  const nowMs = request.now.getTime();
  const byId = new Map<string, Channel>();
  const candidates: RankCandidate[] = route.channels.map((channel) => {
    byId.set(channel.config.id, channel);
    return {
      id: channel.config.id,
      circuit: channel.circuitState(),
      fee: feeFor(channel.config.fees, gross).amount,
      recent: request.successes.recent(channel.config.id, method, nowMs),
      strong_customer_authentication: channel.config.strong_customer_authentication ?? false,
    };
  });
  const rankRequest = {
    candidates, preferred: request.preferred ?? null, prefer: rule?.prefer ?? [], exclude: rule?.exclude ?? [], rank_by: rule?.rank_by ?? [],
    elevated_risk: request.risk?.decision === 'review',
  };
  const ranking = rankChannels(rankRequest);
  const total = ranking.channels.length;
  const where = rule ? `rule #${index + 1} (${describeRule(rule)})${rule.exclude?.length ? `, excluding ${rule.exclude.join(', ')},` : ''}` : 'no rule matched';
  const open = route.open.length > 0 ? `; ${route.open.join(', ')} circuit open` : '';
  const source = policy.version === 0 ? 'default ranking' : `policy v${policy.version}${arm ? ` arm ${arm}` : ''}`;
  const prefix = policy.version === 0 ? `${source} for ${method} ${currency} ${amount}: ` : `${source}: ${where} for ${method} ${currency} ${amount}: `;
  const channels = ranking.channels.slice(0, limits.payment_attempts_max).map((candidate, at) => {
    const channel = byId.get(candidate.id)!;
    const decided = total === 1 ? 'as the only candidate' : `by ${ranking.decided_by ?? 'configuration order'} (${decidingValues(ranking, rankRequest)})`;
    const reason = at === 0
      ? `${prefix}${candidate.id} rank 1 of ${total} ${decided}${open}`
      : `failover #${at}: previous channel certainly did not charge; ${candidate.id} rank ${at + 1} of ${total} (${source})`;
    return { channel, routing_reason: boundedReason(reason) };
  });
  return { channels, choice: { policy_version: policy.version === 0 ? null : policy.version, arm } };
}
