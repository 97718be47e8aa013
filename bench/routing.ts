// The routing decision, timed on its own: planChannels over the sandbox configuration's registry
// (two card channels, Alipay, WeChat Pay, each with its circuit), for each method, many times.
// Measured in this process with the real code; no network and no database are involved.

import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { configureSandboxChannels, resilienceSettings } from '../src/channels/configure.ts';
import { createMetrics } from '../src/http/metrics.ts';
import type { AppContext } from '../src/http/context.ts';
import { systemClock } from '../src/kernel/clock.ts';
import { limits } from '../src/kernel/limits.ts';
import { planChannels } from '../src/payments/service.ts';
import { LatencyRecorder, type LatencySummary } from './latency.ts';

export const routing_decisions = 200_000;

export async function measureRoutingDecision(): Promise<LatencySummary> {
  const logger = pino({ level: 'silent' });
  const channels = await configureSandboxChannels(systemClock, logger, { settings: resilienceSettings(limits.channel_circuit_half_open_ms_default), metrics: createMetrics() });
  channels.attach('http://127.0.0.1:9');
  try {
    const ctx = { channels: channels.registry } as unknown as AppContext; // planChannels reads only ctx.channels
    const cases = [['card', 'USD', 4_200n], ['card', 'EUR', 99n], ['alipay', 'CNY', 8_800n], ['wechat_pay', 'CNY', 1n]] as const;
    const recorder = new LatencyRecorder();
    for (let i = 0; i < routing_decisions; i++) {
      const [method, currency, amount] = cases[i % cases.length]!;
      const begin = performance.now();
      const plan = planChannels(ctx, method, currency, amount);
      const end = performance.now();
      if (plan.length === 0) throw new Error(`no channel planned for ${method} ${currency}`);
      if (i >= 10_000) recorder.record(end - begin); // after warm-up (JIT)
    }
    return recorder.summary();
  } finally {
    await channels.close();
  }
}
