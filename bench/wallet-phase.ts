// The wallet scenario: C customers, each paying a CNY order by QR code (Alipay and WeChat Pay in
// turn): create the payment (requires_action), have the sandbox play the payer
// (POST /sandbox/:channel/pay/:out_trade_no), then poll the payment until the signed notification
// made it succeeded. Reports wallet payments/s, the whole purchase's latency, and the
// notification-to-paid latency: from the payer's completion returning to the first read that
// shows succeeded (polled every `poll_interval_ms`, so it is an upper bound within that step).

import { performance } from 'node:perf_hooks';
import type { HttpClient } from './http-client.ts';
import { LatencyRecorder, type LatencySummary } from './latency.ts';

export const wallet_poll_interval_ms = 2;
export const wallet_paid_wait_ms_max = 15_000;

export interface WalletPhaseResult {
  readonly phase: 'wallet';
  readonly duration_seconds: number;
  readonly concurrency: number;
  readonly succeeded: number;
  readonly payments_per_second: number;
  readonly errors: number;
  readonly error_samples: string[];
  readonly purchase_latency: LatencySummary;
  readonly notification_to_paid_latency: LatencySummary;
}

interface Json {
  [key: string]: unknown;
}

async function postJson(client: HttpClient, path: string, body: unknown, key: string): Promise<{ status: number; json: Json }> {
  const response = await client.postJson(path, body, { authorization: `Bearer ${key}` });
  return { status: response.status, json: JSON.parse(response.body || '{}') as Json };
}

/** One wallet purchase; returns the two latencies in ms, or an error description. */
async function walletPurchase(client: HttpClient, apiKey: string, adminKey: string, method: 'alipay' | 'wechat_pay'): Promise<{ purchase_ms: number; notify_ms: number } | string> {
  const begin = performance.now();
  const order = await postJson(client, '/v1/orders', { currency: 'CNY', items: [{ name: 'Tea', unit_amount: 1000 + Math.floor(Math.random() * 9000), quantity: 1 }] }, apiKey);
  if (order.status !== 201) return `order ${order.status}`;
  const payment = await postJson(client, '/v1/payments', { order_id: order.json.id, method }, apiKey);
  if (payment.status !== 201 || payment.json.status !== 'requires_action') return `payment ${payment.status} ${String(payment.json.status)}`;
  const attempt = (payment.json.attempts as Json[])[0]!;
  const paid = await postJson(client, `/sandbox/${String(attempt.channel)}/pay/${String(attempt.out_trade_no)}`, {}, adminKey);
  if (paid.status !== 200) return `sandbox pay ${paid.status}`;
  const payerDone = performance.now();
  while (performance.now() - payerDone < wallet_paid_wait_ms_max) {
    const read = await client.get(`/v1/payments/${String(payment.json.id)}`, { authorization: `Bearer ${apiKey}` });
    const status = (JSON.parse(read.body) as Json).status;
    if (status === 'succeeded') {
      const end = performance.now();
      return { purchase_ms: end - begin, notify_ms: end - payerDone };
    }
    if (status !== 'requires_action') return `payment became ${String(status)}`;
    await new Promise((resolve) => setTimeout(resolve, wallet_poll_interval_ms));
  }
  return 'not paid within the wait';
}

export async function runWalletPhase(options: { client: HttpClient; apiKey: string; adminKey: string; concurrency: number; duration_ms: number }): Promise<WalletPhaseResult> {
  const purchase = new LatencyRecorder();
  const notify = new LatencyRecorder();
  const errors: string[] = [];
  let succeeded = 0;
  let turn = 0;
  const started = performance.now();
  const end = started + options.duration_ms;
  const customer = async (): Promise<void> => {
    while (performance.now() < end) {
      const method = turn++ % 2 === 0 ? 'alipay' : 'wechat_pay';
      const outcome = await walletPurchase(options.client, options.apiKey, options.adminKey, method);
      if (typeof outcome === 'string') errors.push(`${method}: ${outcome}`);
      else {
        succeeded += 1;
        purchase.record(outcome.purchase_ms);
        notify.record(outcome.notify_ms);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, customer));
  const elapsed_s = (performance.now() - started) / 1000;
  return {
    phase: 'wallet',
    duration_seconds: options.duration_ms / 1000,
    concurrency: options.concurrency,
    succeeded,
    payments_per_second: succeeded / elapsed_s,
    errors: errors.length,
    error_samples: errors.slice(0, 5),
    purchase_latency: purchase.summary(),
    notification_to_paid_latency: notify.summary(),
  };
}
