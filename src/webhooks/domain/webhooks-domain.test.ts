import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { limits } from '../../kernel/limits.ts';
import { checkEndpointUrl } from './endpoint-url.ts';
import { endpointWants, eventBody, webhookEventTypes } from './event.ts';
import { nextRetry, retryDelayMs } from './retry-schedule.ts';
import { signatureHeader } from './signature.ts';

describe('webhook signature', () => {
  it('is t=<unix>,v1=<hex hmac_sha256(secret, "<t>.<body>")>', () => {
    const secret = 'whsec_test';
    const body = '{"id":"evt_1"}';
    const expected = createHmac('sha256', secret).update(`1767225600.${body}`).digest('hex');
    expect(signatureHeader(secret, 1767225600, body)).toBe(`t=1767225600,v1=${expected}`);
    expect(signatureHeader(secret, 1767225601, body)).not.toBe(signatureHeader(secret, 1767225600, body));
    expect(() => signatureHeader('nope', 1, body)).toThrow(/assertion/);
  });
});

describe('webhook retry schedule', () => {
  const start = new Date('2026-01-01T00:00:00Z');
  const until = new Date(start.getTime() + limits.webhook_retry_window_ms);

  it('doubles from the first delay up to the cap, jittered into [delay/2, delay]', () => {
    expect(retryDelayMs(1, 0)).toBe(limits.webhook_retry_delay_first_ms / 2);
    expect(retryDelayMs(2, 0)).toBe(limits.webhook_retry_delay_first_ms);
    expect(retryDelayMs(3, 0.999999)).toBeLessThanOrEqual(4 * limits.webhook_retry_delay_first_ms);
    expect(retryDelayMs(1_000, 0.5)).toBeLessThanOrEqual(limits.webhook_retry_delay_max_ms);
    fc.assert(fc.property(fc.integer({ min: 1, max: 100 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempts, random) => {
      const cap = Math.min(limits.webhook_retry_delay_first_ms * 2 ** Math.min(attempts - 1, 40), limits.webhook_retry_delay_max_ms);
      const delay = retryDelayMs(attempts, random);
      return delay >= Math.floor(cap / 2) && delay <= cap;
    }));
  });

  it('never schedules past the window, lands one last attempt on it, then gives up', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 60, maxLength: 60 }), (randoms) => {
      let now = start;
      let attempts = 1;
      for (;;) {
        const decision = nextRetry({ attempts, now, retryUntil: until, random: randoms[attempts % randoms.length]! });
        if (decision.kind === 'give_up') return now.getTime() === until.getTime() || attempts === limits.webhook_delivery_attempts_max;
        if (decision.at.getTime() > until.getTime() || decision.at.getTime() <= now.getTime()) return false;
        now = decision.at;
        attempts++;
      }
    }));
    expect(nextRetry({ attempts: 1, now: until, retryUntil: until, random: 0 })).toEqual({ kind: 'give_up', reason: 'window_ended' });
    expect(nextRetry({ attempts: limits.webhook_delivery_attempts_max, now: start, retryUntil: until, random: 0 })).toEqual({ kind: 'give_up', reason: 'attempts_exhausted' });
  });
});

describe('webhook endpoint url', () => {
  it('takes http(s) URLs, and refuses private addresses outside the sandbox', () => {
    const production = { allowPrivateAddresses: false };
    const sandbox = { allowPrivateAddresses: true };
    expect(checkEndpointUrl('https://shop.example/hooks', production)).toBeNull();
    expect(checkEndpointUrl('http://127.0.0.1:9000/hooks', sandbox)).toBeNull();
    expect(checkEndpointUrl('ftp://shop.example/', production)).toBe('scheme_not_allowed');
    expect(checkEndpointUrl('javascript:alert(1)', sandbox)).toBe('scheme_not_allowed');
    expect(checkEndpointUrl('shop.example/hooks', production)).toBe('not_a_url');
    expect(checkEndpointUrl('https://a:b@shop.example/', production)).toBe('credentials_not_allowed');
    expect(checkEndpointUrl(`https://shop.example/${'x'.repeat(limits.webhook_url_length_max)}`, sandbox)).toBe('too_long');
    for (const url of ['http://127.0.0.1/', 'http://localhost:80/', 'http://api.localhost/', 'http://10.1.2.3/', 'http://172.20.0.1/', 'http://192.168.1.1/',
      'http://169.254.169.254/latest/meta-data', 'http://0.0.0.0/', 'http://[::1]/', 'http://[fd00::1]/', 'http://[fe80::1]/', 'http://[::ffff:127.0.0.1]/', 'http://100.64.0.1/']) {
      expect(checkEndpointUrl(url, production), url).toBe('private_address_not_allowed');
      expect(checkEndpointUrl(url, sandbox), url).toBeNull();
    }
    for (const url of ['http://8.8.8.8/', 'http://172.32.0.1/', 'http://[2001:db8::1]/']) expect(checkEndpointUrl(url, production), url).toBeNull();
  });
});

describe('webhook events', () => {
  it('matches subscriptions and builds the documented event shape', () => {
    expect(endpointWants(['*'], 'order.paid')).toBe(true);
    expect(endpointWants(['order.paid'], 'order.paid')).toBe(true);
    expect(endpointWants(['order.paid'], 'payment.succeeded')).toBe(false);
    expect(webhookEventTypes).toContain('refund.failed');
    const body = eventBody({ seq: 1n, id: 'evt_1', merchant_id: 'mch_1', type: 'order.paid', payload: { order_id: 'ord_1' }, created_at: new Date('2026-01-01T00:00:00.999Z') });
    expect(JSON.parse(body)).toEqual({ id: 'evt_1', object: 'event', type: 'order.paid', created: 1767225600, data: { order_id: 'ord_1' } });
  });
});

describe('the webhook delivery transition table', () => {
  it('moves a pending delivery on each attempt, lets any delivery be redelivered, and names every rejection', async () => {
    const { transitionDelivery, deliveryStatuses } = await import('./delivery-state.ts');
    expect(transitionDelivery('pending', 'attempt_delivered')).toEqual({ ok: true, state: 'delivered' });
    expect(transitionDelivery('pending', 'attempt_retry')).toEqual({ ok: true, state: 'pending' });
    expect(transitionDelivery('pending', 'attempt_exhausted')).toEqual({ ok: true, state: 'failed' });
    for (const status of deliveryStatuses) expect(transitionDelivery(status, 'redeliver')).toEqual({ ok: true, state: 'pending' });
    expect(transitionDelivery('delivered', 'attempt_delivered')).toEqual({ ok: false, rejection: 'webhook_delivery_attempt_delivered_not_allowed_from_delivered' });
    expect(transitionDelivery('failed', 'endpoint_disabled').ok).toBe(false);
  });
});
