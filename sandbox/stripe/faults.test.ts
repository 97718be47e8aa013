// Fault injection over the wire: what a caller sees, and what the sandbox's own books say.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultState, validateFaults } from './faults.ts';
import { createStripeSandbox, type StripeSandbox, type StripeSandboxOptions } from './index.ts';

const opened: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const item of opened.splice(0)) await item.close();
});

async function start(options: Partial<StripeSandboxOptions> = {}): Promise<{ sandbox: StripeSandbox; url: string; key: string }> {
  const sandbox = createStripeSandbox({ channel: 'card_faults', ...options });
  opened.push(sandbox);
  const url = await sandbox.listen();
  return { sandbox, url, key: sandbox.credentials().secret_key };
}

function pay(url: string, key: string, out_trade_no: string, options: { idempotencyKey?: string; signal?: AbortSignal } = {}): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' };
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  const body = `amount=1234&currency=usd&confirm=true&payment_method=pm_card_visa&metadata[out_trade_no]=${out_trade_no}`;
  return fetch(`${url}/v1/payment_intents`, { method: 'POST', headers, body, signal: options.signal ?? null });
}

interface Hook {
  readonly events: { id: string; type: string; status: string | undefined }[];
  readonly url: string;
}

async function receiver(failFirst = 0): Promise<Hook> {
  const events: Hook['events'] = [];
  let failures = failFirst;
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      if (failures > 0) {
        failures -= 1;
        response.writeHead(500).end();
        return;
      }
      const event = JSON.parse(body) as { id: string; type: string; data: { object: { status?: string } } };
      events.push({ id: event.id, type: event.type, status: event.data.object.status });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  opened.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
  return { events, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('stripe sandbox faults', () => {
  it('outage: 503 api_error for every request, nothing charged', async () => {
    const { sandbox, url, key } = await start();
    sandbox.setFaults({ outage: true });
    const response = await pay(url, key, 'outage_1');
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe('api_error');
    expect((await fetch(`${url}/v1/payment_intents`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(503);
    expect(sandbox.ledger()).toEqual([]);
    sandbox.resetFaults();
    expect((await pay(url, key, 'outage_1')).status).toBe(200);
  });

  it('error_rate: 500 without processing; the same key then runs afresh', async () => {
    const { sandbox, url, key } = await start();
    sandbox.setFaults({ error_rate: 1 });
    const failed = await pay(url, key, 'err_1', { idempotencyKey: 'err_1' });
    expect(failed.status).toBe(500);
    expect(failed.headers.get('stripe-should-retry')).toBe('true');
    expect(sandbox.ledger()).toEqual([]);
    sandbox.resetFaults();
    const retried = await pay(url, key, 'err_1', { idempotencyKey: 'err_1' });
    expect(retried.status).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
    expect(sandbox.ledger()).toEqual([{ out_trade_no: 'err_1', charged: 1234, refunded: 0 }]);
  });

  it('timeout_rate: charges, holds the response; a retry with the key replays it', async () => {
    const { sandbox, url, key } = await start();
    sandbox.setFaults({ timeout_rate: 1 });
    const held = await pay(url, key, 'slow_1', { idempotencyKey: 'slow_1', signal: AbortSignal.timeout(200) }).catch((error: unknown) => error);
    expect((held as Error).name).toBe('TimeoutError');
    expect(sandbox.ledger()).toEqual([{ out_trade_no: 'slow_1', charged: 1234, refunded: 0 }]);
    sandbox.resetFaults();
    const replay = await pay(url, key, 'slow_1', { idempotencyKey: 'slow_1' });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(((await replay.json()) as { status: string }).status).toBe('succeeded');
    expect(sandbox.ledger()).toEqual([{ out_trade_no: 'slow_1', charged: 1234, refunded: 0 }]);
  });

  it('timeout_rate: the held response comes after timeoutHoldMs, and close() cuts a held one', async () => {
    const { sandbox, url, key } = await start({ timeoutHoldMs: 300 });
    sandbox.setFaults({ timeout_rate: 1 });
    const started = Date.now();
    const late = await pay(url, key, 'slow_2');
    expect(late.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);

    const other = await start({ timeoutHoldMs: 60_000 });
    other.sandbox.setFaults({ timeout_rate: 1 });
    const pending = pay(other.url, other.key, 'slow_3').then(
      () => 'answered',
      () => 'cut',
    );
    await until(() => other.sandbox.ledger().length === 1);
    await other.sandbox.close();
    expect(await pending).toBe('cut');
  });

  it('latency_ms: delays every answer', async () => {
    const { sandbox, url, key } = await start();
    sandbox.setFaults({ latency_ms: 150 });
    const started = Date.now();
    expect((await pay(url, key, 'latency_1')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('late_success_rate: answers processing, succeeds later with its webhook', async () => {
    const hook = await receiver();
    const { sandbox, url, key } = await start({ webhookUrl: hook.url, lateSuccessDelayMs: 100 });
    sandbox.setFaults({ late_success_rate: 1 });
    const response = await pay(url, key, 'late_1');
    const pi = (await response.json()) as { id: string; status: string };
    expect(pi.status).toBe('processing');
    expect(sandbox.ledger()).toEqual([]);
    await until(() => hook.events.some((event) => event.type === 'payment_intent.succeeded'));
    expect(hook.events.map((event) => event.type)).toEqual(['payment_intent.processing', 'payment_intent.succeeded']);
    expect(sandbox.ledger()).toEqual([{ out_trade_no: 'late_1', charged: 1234, refunded: 0 }]);
    const retrieved = await fetch(`${url}/v1/payment_intents/${pi.id}`, { headers: { authorization: `Bearer ${key}` } });
    expect(((await retrieved.json()) as { status: string }).status).toBe('succeeded');
  });

  it('duplicate_notify_rate: the same event is delivered twice', async () => {
    const hook = await receiver();
    const { sandbox, url, key } = await start({ webhookUrl: hook.url });
    sandbox.setFaults({ duplicate_notify_rate: 1 });
    await pay(url, key, 'dup_1');
    await until(() => hook.events.length === 2);
    expect(hook.events[0]?.id).toBe(hook.events[1]?.id);
    expect(hook.events[0]?.type).toBe('payment_intent.succeeded');
  });

  it('retries a webhook delivery the endpoint refused', async () => {
    const hook = await receiver(2);
    const { sandbox, url, key } = await start({ webhookUrl: hook.url, webhookBackoffBaseMs: 20 });
    await pay(url, key, 'retry_1');
    await until(() => hook.events.length === 1 && sandbox.webhookStats().pending === 0); // the count lands after the receiver answered
    expect(sandbox.webhookStats()).toMatchObject({ delivered: 1, failed: 0, pending: 0 });
  });

  it('validates fault patches and draws from the injected random', () => {
    expect(validateFaults({ error_rate: 2 })).toMatchObject({ ok: false, param: 'error_rate' });
    expect(validateFaults({ latency_ms: -1 })).toMatchObject({ ok: false, param: 'latency_ms' });
    expect(validateFaults({ outage: 'yes' })).toMatchObject({ ok: false, param: 'outage' });
    expect(validateFaults({ surprise: 1 })).toMatchObject({ ok: false, param: 'surprise' });
    expect(validateFaults({ timeout_rate: 0.5, outage: false })).toEqual({ ok: true, value: { timeout_rate: 0.5, outage: false } });
    const draws = [0.7, 0.3];
    const faults = new FaultState(() => draws.shift() ?? 0);
    expect(() => faults.set({ error_rate: -0.1 })).toThrow(RangeError);
    faults.set({ error_rate: 0.5 });
    expect(faults.roll('error_rate')).toBe(false);
    expect(faults.roll('error_rate')).toBe(true);
    expect(faults.roll('timeout_rate')).toBe(false); // rate 0: no draw
  });
});
