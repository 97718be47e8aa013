// Webhook endpoint commands: create, disable, redeliver. Each is one transaction.
import { nextDeliveryStatus } from './domain/delivery-state.ts';
import { randomBytes } from 'node:crypto';
import type { AppContext } from '../http/context.ts';
import { assert, ClearwayError } from '../kernel/errors.ts';
import { newId } from '../kernel/ids.ts';
import { limits } from '../kernel/limits.ts';
import { checkEndpointUrl, type EndpointUrlRejection } from './domain/endpoint-url.ts';
import { allEvents } from './domain/event.ts';
import { countEnabledEndpoints, findDelivery, findEndpoint, insertEndpoint, type DeliveryRow, type EndpointRow } from './repository.ts';

export interface EndpointRequest {
  readonly url: string;
  readonly events?: string[];
  readonly description?: string;
}

const urlRejectionMessages: Record<EndpointUrlRejection, string> = {
  not_a_url: 'url must be an absolute http(s) URL.',
  too_long: `url must be at most ${limits.webhook_url_length_max} characters.`,
  scheme_not_allowed: 'url must use http or https.',
  credentials_not_allowed: 'url must not carry a user name or password.',
  private_address_not_allowed: 'url must not point to a loopback, private or link-local address.',
};

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('hex')}`;
}

export async function createEndpoint(ctx: AppContext, merchantId: string, body: EndpointRequest): Promise<EndpointRow> {
  const rejection = checkEndpointUrl(body.url, { allowPrivateAddresses: ctx.config.sandbox });
  if (rejection) throw new ClearwayError('invalid_param', urlRejectionMessages[rejection], { param: 'url' });
  const requested = [...new Set(body.events ?? [allEvents])];
  const events = requested.includes(allEvents) ? [allEvents] : requested;
  assert(events.length >= 1, 'an endpoint subscribes to at least one event type');
  const now = ctx.clock.now();
  const row: EndpointRow = {
    id: newId('webhook_endpoint'), merchant_id: merchantId, url: body.url, events, description: body.description ?? null,
    secret: newWebhookSecret(), status: 'enabled', created_at: now, updated_at: now,
  };
  await ctx.db.transaction(async (tx) => {
    // Serializes endpoint creation per merchant, so the count below cannot be raced past.
    await tx.query("SELECT pg_advisory_xact_lock(hashtext('webhook_endpoints:' || $1))", [merchantId]);
    if ((await countEnabledEndpoints(tx, merchantId)) >= limits.webhook_endpoints_per_merchant_max) {
      throw new ClearwayError('webhook_endpoints_limit_reached', `A merchant may have at most ${limits.webhook_endpoints_per_merchant_max} enabled webhook endpoints; disable one first.`);
    }
    await insertEndpoint(tx, row);
  });
  return row;
}

/** Disables an endpoint (idempotent). Its pending deliveries end as failed: nothing more is sent to it. */
export async function disableEndpoint(ctx: AppContext, merchantId: string, id: string): Promise<EndpointRow> {
  return ctx.db.transaction(async (tx) => {
    const endpoint = await findEndpoint(tx, merchantId, id, true);
    if (!endpoint) throw new ClearwayError('not_found', `No webhook endpoint ${id}.`, { param: 'id' });
    if (endpoint.status === 'disabled') return endpoint;
    const now = ctx.clock.now();
    const { rows } = await tx.query<EndpointRow>("UPDATE webhook_endpoints SET status = 'disabled', updated_at = $2 WHERE id = $1 RETURNING *", [id, now]);
    await tx.query(
      `UPDATE webhook_deliveries SET status = '${nextDeliveryStatus('pending', 'endpoint_disabled')}', locked_until = NULL, last_error = 'endpoint disabled', updated_at = $2
       WHERE endpoint_id = $1 AND status = 'pending'`,
      [id, now],
    );
    assert(rows[0]?.status === 'disabled', 'the endpoint is disabled after the update');
    return rows[0];
  });
}

/**
 * Manual redelivery: the delivery becomes due now. A delivered or failed delivery gets one more
 * attempt (no automatic retries after it); a pending one keeps its retry window.
 */
export async function redeliver(ctx: AppContext, merchantId: string, id: string): Promise<DeliveryRow> {
  return ctx.db.transaction(async (tx) => {
    const delivery = await findDelivery(tx, merchantId, id, true);
    if (!delivery) throw new ClearwayError('not_found', `No webhook delivery ${id}.`, { param: 'id' });
    const endpoint = await findEndpoint(tx, merchantId, delivery.endpoint_id);
    assert(endpoint, 'a delivery belongs to an endpoint of its merchant');
    if (endpoint.status !== 'enabled') throw new ClearwayError('webhook_endpoint_disabled', `Webhook endpoint ${endpoint.id} is disabled.`, { param: 'id' });
    const now = ctx.clock.now();
    const { rows } = await tx.query<DeliveryRow>(
      `UPDATE webhook_deliveries
       SET next_attempt_at = $2,
           retry_until = CASE WHEN status = 'pending' THEN retry_until ELSE $2 END,
           status = $3, delivered_at = NULL, updated_at = $2
       WHERE id = $1 RETURNING *`,
      [id, now, nextDeliveryStatus(delivery.status, 'redeliver')],
    );
    assert(rows[0]?.status === 'pending', 'a redelivered delivery is pending');
    return rows[0];
  });
}
