import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eventToVerdict, verifyStripeNotification, verifyStripeSignature } from './webhook.ts';

const secret = 'whsec_test_secret_value';
const now = 1_767_225_600; // 2026-01-01T00:00:00Z

function sign(body: string, timestamp: number, key = secret): string {
  return createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex');
}

function event(type: string, object: Record<string, unknown>): string {
  return JSON.stringify({ id: 'evt_1', object: 'event', type, created: now, data: { object }, livemode: false });
}

const intent = { id: 'pi_1', object: 'payment_intent', amount: 2500, currency: 'usd', status: 'succeeded', metadata: { out_trade_no: 'att_7' }, last_payment_error: null };

describe('Stripe-Signature verification', () => {
  const body = event('payment_intent.succeeded', intent);
  const raw = Buffer.from(body);

  it('accepts a valid signature, among several v1 values and other schemes', () => {
    expect(verifyStripeSignature(raw, `t=${now},v1=${sign(body, now)}`, secret, now)).toEqual({ ok: true });
    const rolled = `t=${now},v1=${sign(body, now, 'whsec_old_secret')},v0=abc,v1=${sign(body, now)}`;
    expect(verifyStripeSignature(raw, rolled, secret, now)).toEqual({ ok: true });
  });

  it.each([
    ['tampered body', Buffer.from(body.replace('2500', '2501')), `t=${now},v1=${sign(body, now)}`, now, /mismatch/],
    ['forged with another secret', raw, `t=${now},v1=${sign(body, now, 'whsec_attacker')}`, now, /mismatch/],
    ['signature over another timestamp', raw, `t=${now + 1},v1=${sign(body, now)}`, now, /mismatch/],
    ['too old', raw, `t=${now - 301},v1=${sign(body, now - 301)}`, now, /tolerance/],
    ['from the future', raw, `t=${now + 301},v1=${sign(body, now + 301)}`, now, /tolerance/],
    ['no header', raw, undefined, now, /missing/],
    ['no timestamp', raw, `v1=${sign(body, now)}`, now, /no timestamp/],
    ['two timestamps', raw, `t=${now},t=${now},v1=${sign(body, now)}`, now, /malformed/],
    ['no v1', raw, `t=${now},v0=${sign(body, now)}`, now, /no v1/],
    ['garbage', raw, 'hello', now, /malformed/],
  ])('rejects %s', (_name, payload, header, at, reason) => {
    const check = verifyStripeSignature(payload, header, secret, at);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reason).toMatch(reason);
  });

  it('rejects everything when no secret is configured', () => {
    expect(verifyStripeSignature(raw, `t=${now},v1=${sign(body, now, '')}`, '', now)).toMatchObject({ ok: false, reason: 'no webhook secret configured' });
  });

  it('accepts an edge-of-tolerance timestamp', () => {
    expect(verifyStripeSignature(raw, `t=${now - 300},v1=${sign(body, now - 300)}`, secret, now)).toEqual({ ok: true });
  });
});

describe('events to notifications', () => {
  it('maps a signed payment_intent event', () => {
    const body = event('payment_intent.succeeded', intent);
    const verdict = verifyStripeNotification(Buffer.from(body), { 'stripe-signature': `t=${now},v1=${sign(body, now)}` }, secret, now);
    expect(verdict).toEqual({
      kind: 'verified',
      notification: { event_id: 'evt_1', out_trade_no: 'att_7', status: 'succeeded', channel_txn_id: 'pi_1', amount: 2500n, currency: 'USD' },
    });
  });

  it('maps payment_failed to failed and processing to pending', () => {
    const failed = eventToVerdict(JSON.parse(event('payment_intent.payment_failed', { ...intent, status: 'requires_payment_method', last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline' } })));
    expect(failed).toMatchObject({ kind: 'verified', notification: { status: 'failed' } });
    expect(eventToVerdict(JSON.parse(event('payment_intent.processing', { ...intent, status: 'processing' })))).toMatchObject({ kind: 'verified', notification: { status: 'pending' } });
  });

  it('ignores other events and intents that are not ours; rejects malformed ones', () => {
    expect(eventToVerdict(JSON.parse(event('charge.refunded', { id: 'ch_1', object: 'charge' })))).toMatchObject({ kind: 'ignored' });
    expect(eventToVerdict(JSON.parse(event('payment_intent.succeeded', { ...intent, metadata: {} })))).toMatchObject({ kind: 'ignored' });
    expect(eventToVerdict(JSON.parse(event('payment_intent.succeeded', { ...intent, amount: 'lots' })))).toMatchObject({ kind: 'rejected' });
    expect(eventToVerdict(JSON.parse(event('payment_intent.succeeded', { id: 'x' })))).toMatchObject({ kind: 'rejected' });
    expect(eventToVerdict({ type: 'payment_intent.succeeded' })).toMatchObject({ kind: 'rejected' });
    const body = 'not json';
    expect(verifyStripeNotification(Buffer.from(body), { 'Stripe-Signature': `t=${now},v1=${sign(body, now)}` }, secret, now)).toMatchObject({ kind: 'rejected', reason: 'signed body is not JSON' });
    expect(verifyStripeNotification(Buffer.from(body), { 'stripe-signature': ['a', 'b'] }, secret, now)).toMatchObject({ kind: 'rejected' });
  });
});
