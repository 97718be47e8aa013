// The card connector for Stripe PaymentIntents: the connector contract over Stripe's v1 API.
// Stateless: every call is built from its arguments, and the only memory is Stripe's (the
// Idempotency-Key is our out_trade_no / out_refund_no; the intent carries metadata[out_trade_no]).
// The one thing an instance holds is its keep-alive agent (http.ts): close() lets go of it.
import { systemClock, type Clock } from '../../kernel/clock.ts';
import { limits } from '../../kernel/limits.ts';
import {
  channelPaymentNotFound,
  type ChannelCallFailure,
  type ChannelPaymentOutcome,
  type ChannelPaymentRequest,
  type ChannelRefundOutcome,
  type ChannelRefundRequest,
  type Connector,
  type NotificationVerdict,
} from '../contract.ts';
import * as http from './http.ts';
import { stripeConnectorLimits } from './limits.ts';
import {
  buildPaymentIntentForm,
  buildRefundForm,
  interpretPaymentResponse,
  interpretRefundResponse,
  paymentIntentToOutcome,
  readPaymentIntentPage,
  searchQueryFor,
  tradeNumberMetadataKey,
  type PaymentIntentView,
} from './transformers.ts';
import { verifyStripeNotification } from './webhook.ts';

export interface StripeConnectorOptions {
  readonly channel: string;
  /** https://api.stripe.com, or a sandbox's base URL (a path prefix is kept). */
  readonly baseUrl: string;
  readonly secretKey: string;
  /** The webhook endpoint's signing secret (whsec_...); '' rejects every notification. */
  readonly webhookSecret: string;
  readonly timeoutMs?: number;
  readonly clock?: Clock;
  /** Logs every request and response to Stripe, redacted (debug), and transport failures (warn). */
  readonly logger?: http.StripeLogger;
}

/** A Connector that can also let go of its sockets (the contract itself has no close). */
export interface StripeConnector extends Connector {
  /** Destroys the instance's keep-alive sockets; a later call opens new ones. */
  close(): void;
}

type Settings = Required<Omit<StripeConnectorOptions, 'logger'>> & Pick<StripeConnectorOptions, 'logger'>;

type Lookup = { readonly kind: 'found'; readonly pi: PaymentIntentView } | { readonly kind: 'absent' } | { readonly kind: 'failure'; readonly failure: ChannelCallFailure };

function settle(options: StripeConnectorOptions): Settings {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(options.channel)) throw new Error(`createStripeConnector: bad channel id ${options.channel}`);
  const url = new URL(options.baseUrl); // throws on a malformed URL
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('createStripeConnector: baseUrl must be http(s)');
  if (!/^(sk|rk)_\S+$/.test(options.secretKey)) throw new Error('createStripeConnector: secretKey must be a secret or restricted key (sk_/rk_)');
  if (options.webhookSecret !== '' && !options.webhookSecret.startsWith('whsec_')) throw new Error('createStripeConnector: webhookSecret must be whsec_...');
  const timeoutMs = options.timeoutMs ?? limits.channel_call_timeout_ms;
  if (!(Number.isInteger(timeoutMs) && timeoutMs > 0 && timeoutMs <= stripeConnectorLimits.timeout_ms_max)) {
    throw new Error(`createStripeConnector: timeoutMs must be 1..${stripeConnectorLimits.timeout_ms_max}`);
  }
  return Object.freeze({ ...options, timeoutMs, clock: options.clock ?? systemClock });
}

export function createStripeConnector(options: StripeConnectorOptions): StripeConnector {
  const settings = settle(options);
  const api = http.createStripeHttp({
    baseUrl: settings.baseUrl,
    secretKey: settings.secretKey,
    timeoutMs: settings.timeoutMs,
    channel: settings.channel,
    ...(settings.logger === undefined ? {} : { logger: settings.logger }),
  });
  const nowSeconds = (): number => Math.floor(settings.clock.now().getTime() / 1000);

  /** A query that could not be made proves nothing about the payment: never `not_sent`. */
  const asQueryFailure = (failure: ChannelCallFailure): ChannelCallFailure => ({ kind: 'unknown', reason: `query failed: ${failure.reason}` });

  function matching(data: readonly PaymentIntentView[], out_trade_no: string): PaymentIntentView[] {
    return data.filter((pi) => pi.metadata[tradeNumberMetadataKey] === out_trade_no);
  }

  function oneOf(found: readonly PaymentIntentView[]): Lookup | null {
    if (found.length === 0) return null;
    const [first] = found;
    if (found.length > 1 || first === undefined) {
      return { kind: 'failure', failure: { kind: 'unknown', reason: `several PaymentIntents carry this out_trade_no: ${found.map((pi) => pi.id).join(', ')}` } };
    }
    return { kind: 'found', pi: first };
  }

  /**
   * Finds the PaymentIntent of a trade number, and says `absent` only when sure it was never
   * created. Search alone cannot say so: Stripe's search index is eventually consistent (usually
   * under a minute, up to an hour during incidents). So a search miss is followed by the list
   * endpoint, which is strongly consistent, over every intent created within the index lag
   * (plus clock skew): anything older is in the index, anything newer is in the list. Only when
   * both miss and the list scan completed within its page bound is the answer `absent`;
   * otherwise `unknown`. A create still in flight at Stripe cannot be seen by any query: callers
   * query only after the original call's timeout has passed (the repair worker waits far longer).
   */
  async function lookup(out_trade_no: string): Promise<Lookup> {
    const searched = await http.searchPaymentIntents(api, searchQueryFor(out_trade_no));
    if (searched.kind !== 'response') return { kind: 'failure', failure: asQueryFailure(searched) };
    const page = searched.status === 200 ? readPaymentIntentPage(searched.body) : null;
    if (page === null) return { kind: 'failure', failure: { kind: 'unknown', reason: `search answered http ${searched.status}` } };
    const found = oneOf(matching(page.data, out_trade_no));
    if (found !== null) return found;
    return scanRecent(out_trade_no);
  }

  async function scanRecent(out_trade_no: string): Promise<Lookup> {
    const window_ms = stripeConnectorLimits.search_index_lag_ms_max + stripeConnectorLimits.clock_skew_ms_max;
    const since = nowSeconds() - Math.ceil(window_ms / 1000);
    let after: string | null = null;
    for (let pageNumber = 0; pageNumber < stripeConnectorLimits.list_pages_max; pageNumber++) {
      const listed = await http.listPaymentIntents(api, since, after);
      if (listed.kind !== 'response') return { kind: 'failure', failure: asQueryFailure(listed) };
      const page = listed.status === 200 ? readPaymentIntentPage(listed.body) : null;
      if (page === null || page.malformed > 0) return { kind: 'failure', failure: { kind: 'unknown', reason: `list answered http ${listed.status} with an unreadable page` } };
      const found = oneOf(matching(page.data, out_trade_no));
      if (found !== null) return found;
      const last = page.data.at(-1);
      if (!page.has_more || last === undefined) return { kind: 'absent' };
      after = last.id;
    }
    return { kind: 'failure', failure: { kind: 'unknown', reason: `not found by search, and the recent list exceeds ${stripeConnectorLimits.list_pages_max} pages` } };
  }

  return {
    channel: settings.channel,
    methods: ['card'],

    async createPayment(request: ChannelPaymentRequest): Promise<ChannelPaymentOutcome> {
      const built = buildPaymentIntentForm(request);
      if (!built.ok) return built.result;
      const exchange = await http.createPaymentIntent(api, built.fields, request.out_trade_no);
      if (exchange.kind !== 'response') return exchange;
      return interpretPaymentResponse(exchange.status, exchange.body, { out_trade_no: request.out_trade_no, amount: request.amount, currency: request.currency });
    },

    async queryPayment(out_trade_no, expected): Promise<ChannelPaymentOutcome> {
      const found = await lookup(out_trade_no);
      if (found.kind === 'failure') return found.failure;
      if (found.kind === 'absent') {
        return {
          kind: 'result', status: 'failed', channel_txn_id: null, amount: expected.amount, currency: expected.currency,
          failure_code: channelPaymentNotFound, failure_message: 'Stripe has no PaymentIntent with this out_trade_no.', retryable_elsewhere: true, next_action: null,
        };
      }
      return paymentIntentToOutcome(found.pi, { out_trade_no, amount: expected.amount, currency: expected.currency });
    },

    async refund(request: ChannelRefundRequest): Promise<ChannelRefundOutcome> {
      let paymentIntent = request.channel_txn_id;
      if (paymentIntent === null) {
        const found = await lookup(request.out_trade_no);
        if (found.kind === 'failure') return found.failure;
        if (found.kind === 'absent') {
          return { kind: 'result', status: 'failed', channel_refund_id: null, amount: request.amount, currency: request.currency, failure_code: 'payment_not_found' };
        }
        paymentIntent = found.pi.id;
      }
      const built = buildRefundForm(request, paymentIntent);
      if (!built.ok) return { kind: 'result', status: 'failed', channel_refund_id: null, amount: request.amount, currency: request.currency, failure_code: built.code };
      const exchange = await http.createRefund(api, built.fields, request.out_refund_no);
      if (exchange.kind !== 'response') return exchange;
      const expected = { out_refund_no: request.out_refund_no, payment_intent: paymentIntent, amount: request.amount, currency: request.currency };
      return interpretRefundResponse(exchange.status, exchange.body, expected);
    },

    verifyNotification(rawBody, headers): NotificationVerdict {
      return verifyStripeNotification(rawBody, headers, settings.webhookSecret, nowSeconds());
    },

    close(): void {
      api.close();
    },
  };
}
