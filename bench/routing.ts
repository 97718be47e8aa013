// The routing decision, timed on its own: planChannels over the sandbox configuration's registry
// (two card channels, Alipay, WeChat Pay, each with its circuit), for each method, many times,
// under the costly kind of policy: an A/B experiment (a sha256 of the payment id), rules with
// time windows in a time zone and `rank_by`, fees computed per candidate, and full sliding success
// windows (src/routing/plan.ts). Measured in this process with the real code; no network and no
// database are involved (the policy comes from the 1 s cache in the real flow).

import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { configureSandboxChannels, resilienceSettings } from '../src/channels/configure.ts';
import { createMetrics } from '../src/http/metrics.ts';
import type { AppContext } from '../src/http/context.ts';
import { systemClock } from '../src/kernel/clock.ts';
import { limits } from '../src/kernel/limits.ts';
import { newId } from '../src/kernel/ids.ts';
import { planChannels } from '../src/payments/service.ts';
import type { RoutingPolicy } from '../src/routing/policy.ts';
import { successWindowOf } from '../src/routing/success-window.ts';
import { LatencyRecorder, type LatencySummary } from './latency.ts';

export const routing_decisions = 200_000;

/** A policy exercising every part of the decision: experiment, time windows, rank_by, exclusions. */
const benchPolicy: RoutingPolicy = {
  version: 1,
  updated_at: null,
  rules: [
    { method: 'card', currency: 'USD', hours: { from: '22:00', to: '06:00', time_zone: 'Asia/Shanghai' }, days: ['mon', 'tue', 'wed', 'thu', 'fri'], prefer: ['card_b'] },
    { method: 'card', amount_min: 1_000, rank_by: ['success_rate', 'cost'], prefer: [] },
    { method: 'alipay', hours: { from: '00:00', to: '24:00', time_zone: 'Europe/Berlin' }, prefer: [], rank_by: ['cost'] },
  ],
  experiment: { percent_b: 50, rules_b: [{ method: 'card', prefer: [], exclude: ['card_a'] }] },
};

export async function measureRoutingDecision(): Promise<LatencySummary> {
  const logger = pino({ level: 'silent' });
  const channels = await configureSandboxChannels({
    resilience: { settings: resilienceSettings(limits.channel_circuit_half_open_ms_default), metrics: createMetrics() }, timeoutMs: limits.channel_call_timeout_ms, clock: systemClock, logger,
  });
  channels.attach('http://127.0.0.1:9');
  try {
    const ctx = { channels: channels.registry, clock: systemClock } as unknown as AppContext; // planChannels reads only ctx.channels and ctx.clock
    const window = successWindowOf(channels.registry);
    const now = systemClock.now().getTime();
    for (const channel of channels.registry.list()) {
      for (let i = 0; i < limits.routing_success_window_outcomes_max; i++) window.record(channel.config.id, channel.config.methods[0]!, i % 10 !== 0, now);
    }
    const paymentIds = Array.from({ length: 1_024 }, () => newId('payment'));
    const cases = [['card', 'USD', 4_200n], ['card', 'EUR', 99n], ['alipay', 'CNY', 8_800n], ['wechat_pay', 'CNY', 1n]] as const;
    const recorder = new LatencyRecorder();
    for (let i = 0; i < routing_decisions; i++) {
      const [method, currency, amount] = cases[i % cases.length]!;
      const begin = performance.now();
      const plan = planChannels(ctx, method, currency, amount, undefined, { policy: benchPolicy, paymentId: paymentIds[i % paymentIds.length]!, risk: { decision: i % 7 === 0 ? 'review' : 'approve' } });
      const end = performance.now();
      if (plan.length === 0) throw new Error(`no channel planned for ${method} ${currency}`);
      if (i >= 10_000) recorder.record(end - begin); // after warm-up (JIT)
    }
    return recorder.summary();
  } finally {
    await channels.close();
  }
}
