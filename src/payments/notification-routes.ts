import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Channel } from '../channels/registry.ts';
import type { ChannelNotification, ChannelPaymentResult } from '../channels/contract.ts';
import type { AppContext } from '../http/context.ts';
import { limits } from '../kernel/limits.ts';
import { recordAttemptOutcome } from './record-outcome.ts';
import { findAttemptByTradeNo } from './repository.ts';

// Channel notifications arrive in each provider's own protocol. The raw body is verified by the
// channel's connector before anything in it is believed; then the same transition functions as
// every other source of news apply it.

function asResult(notification: ChannelNotification): ChannelPaymentResult {
  return {
    kind: 'result',
    status: notification.status,
    channel_txn_id: notification.channel_txn_id,
    amount: notification.amount,
    currency: notification.currency,
    failure_code: notification.status === 'failed' ? 'channel_notified_failure' : null,
    failure_message: null,
    retryable_elsewhere: false, // a notification never triggers failover: only the synchronous flow may
    next_action: null,
  };
}

export function registerNotificationRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 256 * 1024 }, (_request, body, done) => done(null, body));
    scope.post<{ Params: { channel: string }; Body: Buffer }>(
      '/notify/:channel',
      {
        config: { auth: 'none' },
        schema: {
          tags: ['notifications'],
          summary: 'Channel notifications, in each provider\'s own protocol; verified before anything is read.',
          params: { type: 'object', required: ['channel'], properties: { channel: { type: 'string', maxLength: 64 } } },
          response: {
            200: { description: 'Accepted, answered in the provider\'s own format (JSON `{received: true}` by default).' },
            400: { description: 'Refused (signature, age, shape or amount), in the provider\'s own format.' },
            404: { type: 'object', properties: { received: { type: 'boolean' }, reason: { type: 'string' } } },
          },
        },
      },
      async (request, reply) => {
        const channel = ctx.channels.get(request.params.channel);
        if (!channel) return reply.code(404).send({ received: false, reason: 'unknown_channel' });
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const handled = await handleNotification(ctx, channel, raw, request.headers, request.log);
        const answer = channel.connector.answerNotification?.(handled.accepted);
        if (answer) return reply.code(answer.status).type(answer.contentType).send(answer.body);
        return handled.accepted ? { received: true } : reply.code(400).send({ received: false, reason: handled.reason });
      },
    );
  });
}

type Handled = { readonly accepted: true } | { readonly accepted: false; readonly reason: string };

/** Verifies, checks and applies one notification; says whether the provider should see it accepted. */
async function handleNotification(
  ctx: AppContext,
  channel: Channel,
  raw: Buffer,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  log: FastifyBaseLogger,
): Promise<Handled> {
  const verdict = channel.connector.verifyNotification(raw, headers);
  const count = (outcome: string) => ctx.metrics.notifications.inc({ channel: channel.config.id, verdict: outcome });
  if (verdict.kind === 'rejected') {
    count('rejected');
    log.warn({ channel: channel.config.id, reason: verdict.reason }, 'notification rejected');
    return { accepted: false, reason: verdict.reason };
  }
  if (verdict.kind === 'ignored') {
    count('ignored');
    return { accepted: true };
  }
  const notification = verdict.notification;
  // The synchronous call on this attempt may still be recording what the channel answered.
  await ctx.attemptsInFlight.settled(notification.out_trade_no, limits.notification_in_flight_wait_ms);
  // A success this process already recorded (notifications are at-least-once): nothing to read.
  const known = notification.status === 'succeeded' ? ctx.facts.succeededAttempts.get(notification.out_trade_no) : undefined;
  if (known && known.amount === notification.amount && known.currency === notification.currency) {
    count('duplicate');
    return { accepted: true };
  }
  const attempt = await findAttemptByTradeNo(ctx.db, notification.out_trade_no);
  if (!attempt || attempt.channel !== channel.config.id) {
    count('unknown_attempt');
    log.warn({ channel: channel.config.id, out_trade_no: notification.out_trade_no }, 'notification for an unknown attempt');
    return { accepted: true };
  }
  if (notification.amount !== attempt.amount || notification.currency !== attempt.currency) {
    count('mismatch');
    log.error({ attempt_id: attempt.id, notified: String(notification.amount), expected: String(attempt.amount) }, 'notification amount or currency mismatch; nothing changed');
    return { accepted: false, reason: 'amount_mismatch' };
  }
  // A repeat of what we already recorded needs no lock.
  if ((attempt.status === 'succeeded' && notification.status === 'succeeded') || (attempt.status === 'failed' && notification.status === 'failed')) {
    count('duplicate');
    return { accepted: true };
  }
  const recorded = await recordAttemptOutcome(ctx, attempt, asResult(notification), null);
  count(recorded.changed ? 'applied' : 'duplicate');
  return { accepted: true };
}
