// Shared pieces of request and response schemas. Every route declares its body, params,
// querystring and responses with these, so /openapi.json describes all of it.
import { idSchemaPattern, type IdKind } from '../kernel/ids.ts';
import { errorCatalog, type ErrorCode } from '../kernel/errors.ts';
import { limits } from '../kernel/limits.ts';

export const amountSchema = { type: 'integer', minimum: 1, maximum: Number(limits.amount_minor_max) } as const;
export const amountOrZeroSchema = { type: 'integer', minimum: 0, maximum: Number(limits.amount_minor_max) } as const;
export const currencySchema = { type: 'string', pattern: '^[A-Za-z]{3}$' } as const;
export const nameSchema = { type: 'string', minLength: 1, maxLength: limits.name_length_max } as const;
export const codeSchema = { type: 'string', minLength: 1, maxLength: limits.code_length_max, pattern: '^[A-Za-z0-9_-]+$' } as const;
export const timestampSchema = { type: 'string', format: 'date-time' } as const;
export const metadataSchema = {
  type: 'object',
  maxProperties: limits.metadata_keys_max,
  propertyNames: { maxLength: limits.metadata_key_length_max, minLength: 1 },
  additionalProperties: { type: 'string', maxLength: limits.metadata_value_length_max },
} as const;

export function idSchema(kind: IdKind) {
  return { type: 'string', pattern: idSchemaPattern(kind), maxLength: 40 } as const;
}

export function idParams(kind: IdKind) {
  return { type: 'object', required: ['id'], additionalProperties: false, properties: { id: idSchema(kind) } } as const;
}

export const listQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: limits.page_size_max, default: limits.page_size_default },
    starting_after: { type: 'string', maxLength: 40, pattern: '^[a-z]{2,3}_[0-9a-z]{24}$' },
  },
} as const;

export const errorResponseSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['type', 'code', 'message', 'request_id'],
      properties: {
        type: { type: 'string' },
        code: { type: 'string', enum: Object.keys(errorCatalog) },
        message: { type: 'string' },
        param: { type: 'string' },
        request_id: { type: 'string' },
      },
    },
  },
} as const;

/** Response schemas for the error statuses a route may answer with, from its error codes. */
export function errorResponses(...codes: ErrorCode[]): Record<string, typeof errorResponseSchema> {
  const all: ErrorCode[] = ['invalid_json', 'invalid_param', 'unauthorized', 'rate_limited', 'internal_error', ...codes];
  const out: Record<string, typeof errorResponseSchema> = {};
  for (const code of all) out[String(errorCatalog[code].status)] = errorResponseSchema;
  return out;
}

export function listResponse(item: object) {
  return {
    type: 'object',
    required: ['object', 'data', 'has_more'],
    properties: { object: { type: 'string', const: 'list' }, data: { type: 'array', items: item }, has_more: { type: 'boolean' } },
  } as const;
}

/** bigint minor units -> JSON integer (exact: amounts are bounded far below 2^53). */
export function jsonAmount(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new Error('assertion failed: amount beyond safe JSON integer');
  }
  return Number(value);
}

export function jsonTime(value: Date | string | null): string | null {
  if (value === null) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
