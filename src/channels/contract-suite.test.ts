// Every connector, the card one included, runs the one connector contract suite against its own
// sandbox (STYLE.md rule 10). A subject here only says how to start the pair and pay with it;
// the cases live in contract-suite.ts.
import { createStripeSandbox } from '../../sandbox/stripe/index.ts';
import { createAlipaySandbox } from '../../sandbox/alipay/index.ts';
import { createWechatPaySandbox } from '../../sandbox/wechat/index.ts';
import { createStripeConnector } from './stripe/index.ts';
import { createAlipayConnector } from './alipay/index.ts';
import { createWechatPayConnector } from './wechat/index.ts';
import type { Connector } from './contract.ts';
import type { ChannelSandbox } from './sandbox.ts';
import { contractSuiteLimits, runConnectorContract, startNotificationReceiver, type ContractSubject, type StartedSubject } from './contract-suite.ts';

type ClosableConnector = Connector & { close(): void };

/**
 * Starts a sandbox on its own port and a notification receiver, then builds connectors from the
 * sandbox's credentials with `build(baseUrl, notifyUrl)`; the main one answers the receiver.
 */
async function startPair(
  channel: string,
  sandbox: ChannelSandbox,
  build: (baseUrl: string, notifyUrl: string) => ClosableConnector,
): Promise<StartedSubject> {
  const receiver = await startNotificationReceiver(`/notify/${channel}`);
  await sandbox.listen(0);
  sandbox.setWebhookUrl(receiver.url);
  const connectors: ClosableConnector[] = [];
  const connectorAt = (baseUrl: string): ClosableConnector => {
    const connector = build(baseUrl, receiver.url);
    connectors.push(connector);
    return connector;
  };
  const connector = connectorAt(sandbox.credentials().base_url);
  receiver.answerWith(connector.answerNotification === undefined ? null : () => connector.answerNotification!(true));
  return {
    connector,
    sandbox,
    notifications: receiver.notifications,
    connectorAt,
    async stop() {
      for (const each of connectors) each.close();
      await sandbox.close();
      await receiver.close();
    },
  };
}

const timeoutMs = contractSuiteLimits.connector_timeout_ms;

const stripe: ContractSubject = {
  name: 'stripe',
  method: 'card',
  currency: 'USD',
  amount: 1000n,
  flow: 'immediate',
  unknownTradeQuery: 'failed_not_found',
  outageOutcome: 'unknown',
  paymentMethodData: { token: 'pm_card_visa' },
  declineData: { token: 'pm_card_chargeDeclined' },
  async start() {
    const sandbox = createStripeSandbox({ channel: 'card_contract' });
    return startPair('card_contract', sandbox, (baseUrl) => {
      const credentials = sandbox.credentials();
      return createStripeConnector({ channel: 'card_contract', baseUrl, secretKey: credentials.secret_key, webhookSecret: credentials.webhook_secret, timeoutMs });
    });
  },
};

const alipay: ContractSubject = {
  name: 'alipay',
  method: 'alipay',
  currency: 'CNY',
  amount: 1000n,
  flow: 'payer_completes',
  unknownTradeQuery: 'failed_not_found',
  outageOutcome: 'unknown',
  paymentMethodData: {},
  async start() {
    const sandbox = createAlipaySandbox({ channel: 'alipay_contract' });
    return startPair('alipay_contract', sandbox, (baseUrl, notifyUrl) => {
      const credentials = sandbox.credentials();
      return createAlipayConnector({
        channel: 'alipay_contract', gatewayUrl: `${baseUrl}/gateway.do`, appId: credentials.app_id, appPrivateKey: credentials.app_private_key,
        alipayPublicKey: credentials.alipay_public_key, notifyUrl, timeoutMs,
      });
    });
  },
};

const wechatPay: ContractSubject = {
  name: 'wechat_pay',
  method: 'wechat_pay',
  currency: 'CNY',
  amount: 1000n,
  flow: 'payer_completes',
  unknownTradeQuery: 'failed_not_found',
  outageOutcome: 'unknown',
  paymentMethodData: {},
  async start() {
    const sandbox = createWechatPaySandbox({ channel: 'wechat_pay_contract' });
    return startPair('wechat_pay_contract', sandbox, (baseUrl, notifyUrl) => {
      const c = sandbox.credentials();
      return createWechatPayConnector({
        channel: 'wechat_pay_contract', baseUrl, mchid: c.mchid, appid: c.appid, merchantSerialNo: c.merchant_serial_no,
        merchantPrivateKey: c.merchant_private_key, apiV3Key: c.api_v3_key, platformPublicKey: c.platform_public_key, platformSerialNo: c.platform_serial_no,
        notifyUrl, timeoutMs,
      });
    });
  },
};

for (const subject of [stripe, alipay, wechatPay]) runConnectorContract(subject);
