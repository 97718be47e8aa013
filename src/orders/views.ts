import { idSchema, jsonAmount, jsonTime, metadataSchema, timestampSchema } from '../http/schemas.ts';
import type { PricedOrder } from './domain/pricing.ts';
import type { OrderRow } from './repository.ts';

const itemSchema = {
  type: 'object',
  required: ['name', 'unit_amount', 'quantity', 'amount_subtotal', 'amount_discount', 'amount_total'],
  properties: {
    name: { type: 'string' },
    sku: { type: ['string', 'null'] },
    unit_amount: { type: 'integer' },
    quantity: { type: 'integer' },
    amount_subtotal: { type: 'integer' },
    amount_discount: { type: 'integer' },
    amount_total: { type: 'integer' },
  },
} as const;

const pricingStepSchema = {
  type: 'object',
  required: ['step', 'detail'],
  properties: { step: { type: 'string' }, detail: { type: 'string' }, amount: { type: 'string' } },
} as const;

const pricedProperties = {
  currency: { type: 'string' },
  items: { type: 'array', items: itemSchema },
  amount_subtotal: { type: 'integer' },
  amount_discount: { type: 'integer' },
  amount_total: { type: 'integer' },
  pricing_log: { type: 'array', items: pricingStepSchema },
} as const;

export const orderPreviewSchema = {
  type: 'object',
  required: ['object', 'currency', 'items', 'amount_subtotal', 'amount_discount', 'amount_total', 'pricing_log'],
  properties: { object: { type: 'string', const: 'order_preview' }, ...pricedProperties },
} as const;

export const orderSchema = {
  type: 'object',
  required: ['id', 'object', 'status', 'currency', 'items', 'amount_subtotal', 'amount_discount', 'amount_total', 'amount_refunded', 'pricing_log', 'created_at'],
  properties: {
    id: idSchema('order'),
    object: { type: 'string', const: 'order' },
    status: { type: 'string', enum: ['pending_payment', 'paying', 'paid', 'cancelled'] },
    ...pricedProperties,
    amount_refunded: { type: 'integer' },
    coupon_ids: { type: 'array', items: { type: 'string' } },
    customer: { type: ['object', 'null'], properties: { id: { type: 'string' }, email: { type: 'string' } } },
    metadata: metadataSchema,
    cancellation_reason: { type: ['string', 'null'] },
    expires_at: timestampSchema,
    created_at: timestampSchema,
    updated_at: timestampSchema,
  },
} as const;

export function previewView(priced: PricedOrder) {
  return {
    object: 'order_preview' as const,
    currency: priced.currency,
    items: priced.items.map((item) => ({
      name: item.name,
      sku: item.sku,
      unit_amount: jsonAmount(item.unit_amount),
      quantity: item.quantity,
      amount_subtotal: jsonAmount(item.amount_subtotal),
      amount_discount: jsonAmount(item.amount_discount),
      amount_total: jsonAmount(item.amount_total),
    })),
    amount_subtotal: jsonAmount(priced.amount_subtotal),
    amount_discount: jsonAmount(priced.amount_discount),
    amount_total: jsonAmount(priced.amount_total),
    pricing_log: priced.pricing_log,
  };
}

export function orderView(order: OrderRow) {
  return {
    id: order.id,
    object: 'order' as const,
    status: order.status,
    currency: order.currency,
    items: order.items.map((item) => ({
      name: item.name,
      sku: item.sku,
      unit_amount: Number(item.unit_amount),
      quantity: item.quantity,
      amount_subtotal: Number(item.amount_subtotal),
      amount_discount: Number(item.amount_discount),
      amount_total: Number(item.amount_total),
    })),
    amount_subtotal: jsonAmount(order.amount_subtotal),
    amount_discount: jsonAmount(order.amount_discount),
    amount_total: jsonAmount(order.amount_total),
    amount_refunded: jsonAmount(order.amount_refunded),
    pricing_log: order.pricing_log,
    coupon_ids: order.coupon_ids,
    customer: order.customer,
    metadata: order.metadata,
    cancellation_reason: order.cancellation_reason,
    expires_at: jsonTime(order.expires_at),
    created_at: jsonTime(order.created_at),
    updated_at: jsonTime(order.updated_at),
  };
}
