import { idSchema, jsonAmount, jsonTime, timestampSchema } from '../http/schemas.ts';
import type { AttemptRow, PaymentRow, RefundRow } from './repository.ts';

const attemptSchema = {
  type: 'object',
  required: ['id', 'channel', 'status', 'out_trade_no', 'routing_reason'],
  properties: {
    id: idSchema('attempt'),
    channel: { type: 'string' },
    status: { type: 'string', enum: ['created', 'sent', 'requires_action', 'succeeded', 'failed', 'unknown'] },
    out_trade_no: { type: 'string' },
    channel_txn_id: { type: ['string', 'null'] },
    routing_reason: { type: 'string' },
    failure_code: { type: ['string', 'null'] },
    failure_message: { type: ['string', 'null'] },
    created_at: timestampSchema,
  },
} as const;

export const paymentSchema = {
  type: 'object',
  required: ['id', 'object', 'order_id', 'status', 'amount', 'currency', 'method', 'attempts', 'risk', 'created_at'],
  properties: {
    id: idSchema('payment'),
    object: { type: 'string', const: 'payment' },
    order_id: idSchema('order'),
    status: { type: 'string', enum: ['processing', 'requires_action', 'succeeded', 'failed', 'canceled'] },
    amount: { type: 'integer' },
    amount_captured: { type: 'integer' },
    amount_refunded: { type: 'integer' },
    currency: { type: 'string' },
    method: { type: 'string' },
    channel: { type: ['string', 'null'] },
    failure_code: { type: ['string', 'null'] },
    failure_message: { type: ['string', 'null'] },
    next_action: { type: ['object', 'null'], properties: { type: { type: 'string' }, url: { type: 'string' } } },
    attempts: { type: 'array', items: attemptSchema },
    risk: {
      type: 'object',
      required: ['decision', 'score', 'reasons'],
      properties: { decision: { type: 'string' }, score: { type: 'number' }, reasons: { type: 'array', items: { type: 'string' } } },
    },
    created_at: timestampSchema,
    updated_at: timestampSchema,
  },
} as const;

export const refundSchema = {
  type: 'object',
  required: ['id', 'object', 'payment_id', 'amount', 'currency', 'status', 'created_at'],
  properties: {
    id: idSchema('refund'),
    object: { type: 'string', const: 'refund' },
    payment_id: idSchema('payment'),
    amount: { type: 'integer' },
    currency: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'succeeded', 'failed'] },
    failure_code: { type: ['string', 'null'] },
    created_at: timestampSchema,
    updated_at: timestampSchema,
  },
} as const;

export function paymentView(payment: PaymentRow, attempts: readonly AttemptRow[]) {
  return {
    id: payment.id,
    object: 'payment' as const,
    order_id: payment.order_id,
    status: payment.status,
    amount: jsonAmount(payment.amount),
    amount_captured: jsonAmount(payment.amount_captured),
    amount_refunded: jsonAmount(payment.amount_refunded),
    currency: payment.currency,
    method: payment.method,
    channel: payment.channel,
    failure_code: payment.failure_code,
    failure_message: payment.failure_message,
    next_action: payment.next_action,
    attempts: attempts.map((a) => ({
      id: a.id,
      channel: a.channel,
      status: a.status,
      out_trade_no: a.out_trade_no,
      channel_txn_id: a.channel_txn_id,
      routing_reason: a.routing_reason,
      failure_code: a.failure_code,
      failure_message: a.failure_message,
      created_at: jsonTime(a.created_at),
    })),
    risk: payment.risk,
    created_at: jsonTime(payment.created_at),
    updated_at: jsonTime(payment.updated_at),
  };
}

export function refundView(refund: RefundRow) {
  return {
    id: refund.id,
    object: 'refund' as const,
    payment_id: refund.payment_id,
    amount: jsonAmount(refund.amount),
    currency: refund.currency,
    status: refund.status,
    failure_code: refund.failure_code,
    created_at: jsonTime(refund.created_at),
    updated_at: jsonTime(refund.updated_at),
  };
}
