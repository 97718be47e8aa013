// Channels configured as accounts at real providers (CLEARWAY_CHANNELS_FILE, sandbox off): the
// sandboxes here stand in for Stripe, Alipay and WeChat Pay as outside servers reached only
// through the base URLs and credentials written in the file, exactly as the real providers would
// be. Secrets come inline, from the environment (env:NAME) and from files (file:/path).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStripeSandbox } from '../../sandbox/stripe/index.ts';
import { createAlipaySandbox } from '../../sandbox/alipay/index.ts';
import { createWechatPaySandbox } from '../../sandbox/wechat/index.ts';
import { parseChannelAccounts } from '../../src/channels/accounts-file.ts';
import { startTestApp, type TestApp } from '../support/harness.ts';

describe('channel accounts from CLEARWAY_CHANNELS_FILE', () => {
  const stripe = createStripeSandbox({ channel: 'acquirer_eu' });
  const alipay = createAlipaySandbox({ channel: 'alipay_cn' });
  const wechat = createWechatPaySandbox({ channel: 'wechat_cn' });
  let t: TestApp;
  let merchant: { id: string; key: string };

  beforeAll(async () => {
    await Promise.all([stripe.listen(0), alipay.listen(0), wechat.listen(0)]);
    const dir = mkdtempSync(path.join(tmpdir(), 'clearway-accounts-'));
    const s = stripe.credentials();
    const a = alipay.credentials();
    const w = wechat.credentials();
    writeFileSync(path.join(dir, 'alipay-app.pem'), a.app_private_key);
    writeFileSync(path.join(dir, 'wechat-merchant.pem'), w.merchant_private_key);
    process.env.TEST_ACQUIRER_SECRET = s.secret_key;
    const file = path.join(dir, 'channels.json');
    writeFileSync(file, JSON.stringify({
      channels: [
        {
          id: 'acquirer_eu', provider: 'stripe', base_url: s.base_url, secret_key: 'env:TEST_ACQUIRER_SECRET', webhook_secret: s.webhook_secret,
          currencies: ['EUR'], amount_min: 100, fees: { percent_bps: 150, fixed: 10 },
        },
        {
          id: 'alipay_cn', provider: 'alipay', gateway_url: a.gateway_url, app_id: a.app_id, app_private_key: `file:${path.join(dir, 'alipay-app.pem')}`,
          alipay_public_key: a.alipay_public_key, fees: { percent_bps: 55, fixed: 0 },
        },
        {
          id: 'wechat_cn', provider: 'wechat_pay', base_url: w.base_url, mchid: w.mchid, appid: w.appid, merchant_serial_no: w.merchant_serial_no,
          merchant_private_key: `file:${path.join(dir, 'wechat-merchant.pem')}`, api_v3_key: w.api_v3_key, platform_public_key: w.platform_public_key,
          platform_serial_no: w.platform_serial_no, fees: { percent_bps: 60, fixed: 0 },
        },
      ],
    }));
    t = await startTestApp('pglite', { env: { CLEARWAY_SANDBOX: '0', CLEARWAY_CHANNELS_FILE: file, CLEARWAY_CHANNEL_TIMEOUT_MS: '3000' } });
    stripe.setWebhookUrl(`${t.url}/notify/acquirer_eu`);
    merchant = await t.newMerchant('Configured Shop');
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([stripe.close(), alipay.close(), wechat.close()]);
    delete process.env.TEST_ACQUIRER_SECRET;
  });

  async function order(currency: string, amount: number) {
    const reply = await t.request('POST', '/v1/orders', { key: merchant.key, body: { currency, items: [{ name: 'Tea', unit_amount: amount, quantity: 1 }] } });
    expect(reply.status).toBe(201);
    return reply.body.id as string;
  }

  it('routes by the accounts configured, with their currencies, limits and fees, and serves no sandbox', async () => {
    const eur = await order('EUR', 5_000);
    const card = await t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: eur, method: 'card', payment_method_data: { token: 'pm_card_visa' } } });
    expect(card.body).toMatchObject({ status: 'succeeded', channel: 'acquirer_eu' });
    expect(stripe.ledger()).toEqual([{ out_trade_no: card.body.attempts[0].out_trade_no, charged: 5_000, refunded: 0 }]);
    // The channel's fee is its configured schedule: 1.5 % of 5000 + 10.
    const { rows } = await t.app.ctx.db.query<{ channel_fee_amount: bigint }>('SELECT channel_fee_amount FROM payments WHERE id = $1', [card.body.id]);
    expect(BigInt(rows[0]!.channel_fee_amount)).toBe(85n);
    // USD is not among the account's currencies: no channel takes it.
    const usd = await order('USD', 5_000);
    const refused = await t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: usd, method: 'card', payment_method_data: { token: 'pm_card_visa' } } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('payment_method_unavailable');
    expect((await t.request('GET', '/sandbox/acquirer_eu/ledger', { key: t.adminKey })).status).toBe(404);
  });

  it('takes wallet payments through the configured Alipay and WeChat Pay accounts, notifications included', async () => {
    for (const [method, sandbox] of [['alipay', alipay], ['wechat_pay', wechat]] as const) {
      const cny = await order('CNY', 8_800);
      const started = await t.request('POST', '/v1/payments', { key: merchant.key, body: { order_id: cny, method } });
      expect(started.body).toMatchObject({ status: 'requires_action', channel: sandbox.channel, next_action: { type: 'qr_code' } });
      const paid = await sandbox.payerCompletes!(started.body.attempts[0].out_trade_no);
      expect(paid.ok).toBe(true);
      let status = started.body.status;
      for (let i = 0; i < 100 && status !== 'succeeded'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        status = (await t.request('GET', `/v1/payments/${started.body.id}`, { key: merchant.key })).body.status;
      }
      expect(status, `${method} paid through its notification`).toBe('succeeded');
    }
    expect((await t.request('GET', '/v1/admin/ledger/check', { key: t.adminKey })).body.ok).toBe(true);
  });

  it('refuses a channels file with a wrong field, naming it', () => {
    const parse = (channels: unknown[]) => () => parseChannelAccounts(JSON.stringify({ channels }), 'channels.json', {});
    const stripeAccount = { id: 'card_x', provider: 'stripe', base_url: 'https://api.stripe.com', secret_key: 'sk', webhook_secret: 'wh', fees: { percent_bps: 100, fixed: 0 } };
    expect(parse([{ ...stripeAccount, fees: { percent_bps: 10_001, fixed: 0 } }])).toThrow(/channels\.json/);
    expect(parse([stripeAccount, stripeAccount])).toThrow(/configured twice/);
    expect(parse([{ ...stripeAccount, currencies: ['XYZ'] }])).toThrow(/XYZ is not supported/);
    expect(parse([{ ...stripeAccount, secret_key: 'env:NOT_SET_ANYWHERE' }])).toThrow(/NOT_SET_ANYWHERE is not set/);
    expect(parse([{ ...stripeAccount, amount_min: 500, amount_max: 100 }])).toThrow(/amount_min is above amount_max/);
    expect(() => parseChannelAccounts('{', 'channels.json', {})).toThrow(/not JSON/);
    expect(parse([stripeAccount])()).toHaveLength(1);
  });
});
