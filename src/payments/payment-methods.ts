import type { ChannelMethod } from '../channels/contract.ts';
import type { AppContext } from '../http/context.ts';
import type { OrderRow } from '../orders/repository.ts';

export const paymentMethodNames: readonly ChannelMethod[] = ['card', 'alipay', 'wechat_pay'];

export const paymentMethodsSchema = {
  type: 'object',
  required: ['object', 'data'],
  properties: {
    object: { type: 'string', const: 'list' },
    data: {
      type: 'array',
      items: {
        type: 'object',
        required: ['method', 'available'],
        properties: { method: { type: 'string' }, available: { type: 'boolean' }, reason: { type: 'string' } },
      },
    },
  },
} as const;

/**
 * The cashier's list: every method, greyed out with the reason when no channel can take it now
 * (`circuit_open` when every channel for it has its circuit open: see ChannelRegistry.availability).
 */
export function paymentMethodsFor(ctx: AppContext, order: OrderRow) {
  const data = paymentMethodNames.map((method) => {
    if (order.status !== 'pending_payment') return { method, available: false, reason: `order_${order.status}` };
    const availability = ctx.channels.availability(method, order.currency, order.amount_total);
    return availability.available ? { method, available: true } : { method, available: false, reason: availability.reason };
  });
  return { object: 'list' as const, data };
}
