// What the API shows of endpoints and deliveries, with their response schemas.
import { jsonTime, timestampSchema } from '../http/schemas.ts';
import type { AttemptLogRow, DeliveryRow, EndpointRow } from './repository.ts';

const nullable = <T extends object>(schema: T) => ({ anyOf: [schema, { type: 'null' }] }) as const;

const endpointProperties = {
  id: { type: 'string' },
  object: { type: 'string', const: 'webhook_endpoint' },
  url: { type: 'string' },
  events: { type: 'array', items: { type: 'string' } },
  description: nullable({ type: 'string' }),
  status: { type: 'string', enum: ['enabled', 'disabled'] },
  created_at: timestampSchema,
} as const;
const endpointRequired = ['id', 'object', 'url', 'events', 'description', 'status', 'created_at'];

export const endpointSchema = { type: 'object', required: endpointRequired, properties: endpointProperties } as const;

/** The create response: the only time the signing secret is shown. */
export const createdEndpointSchema = {
  type: 'object',
  required: [...endpointRequired, 'secret'],
  properties: { ...endpointProperties, secret: { type: 'string', description: 'The signing secret, shown once.' } },
} as const;

const attemptSchema = {
  type: 'object',
  required: ['attempt', 'started_at', 'duration_ms', 'status_code', 'error', 'outcome', 'next_attempt_at'],
  properties: {
    attempt: { type: 'integer' },
    started_at: timestampSchema,
    duration_ms: { type: 'integer' },
    status_code: nullable({ type: 'integer' }),
    error: nullable({ type: 'string' }),
    outcome: { type: 'string', enum: ['delivered', 'retry', 'failed'] },
    next_attempt_at: nullable(timestampSchema),
  },
} as const;

export const deliverySchema = {
  type: 'object',
  required: ['id', 'object', 'endpoint_id', 'event_id', 'event_type', 'status', 'attempt_count', 'next_attempt_at', 'retry_until', 'delivered_at', 'last_status_code', 'last_error', 'created_at', 'attempts'],
  properties: {
    id: { type: 'string' },
    object: { type: 'string', const: 'webhook_delivery' },
    endpoint_id: { type: 'string' },
    event_id: { type: 'string' },
    event_type: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
    attempt_count: { type: 'integer' },
    next_attempt_at: nullable(timestampSchema),
    retry_until: timestampSchema,
    delivered_at: nullable(timestampSchema),
    last_status_code: nullable({ type: 'integer' }),
    last_error: nullable({ type: 'string' }),
    created_at: timestampSchema,
    attempts: { type: 'array', items: attemptSchema },
  },
} as const;

export function endpointView(row: EndpointRow) {
  return { id: row.id, object: 'webhook_endpoint', url: row.url, events: row.events, description: row.description, status: row.status, created_at: jsonTime(row.created_at) };
}

export function createdEndpointView(row: EndpointRow) {
  return { ...endpointView(row), secret: row.secret };
}

export function deliveryView(row: DeliveryRow, attempts: readonly AttemptLogRow[]) {
  return {
    id: row.id,
    object: 'webhook_delivery',
    endpoint_id: row.endpoint_id,
    event_id: row.event_id,
    event_type: row.event_type,
    status: row.status,
    attempt_count: row.attempt_count,
    next_attempt_at: row.status === 'pending' ? jsonTime(row.next_attempt_at) : null,
    retry_until: jsonTime(row.retry_until),
    delivered_at: jsonTime(row.delivered_at),
    last_status_code: row.last_status_code,
    last_error: row.last_error,
    created_at: jsonTime(row.created_at),
    attempts: attempts.map((attempt) => ({
      attempt: attempt.attempt,
      started_at: jsonTime(attempt.started_at),
      duration_ms: attempt.duration_ms,
      status_code: attempt.status_code,
      error: attempt.error,
      outcome: attempt.outcome,
      next_attempt_at: jsonTime(attempt.next_attempt_at),
    })),
  };
}
