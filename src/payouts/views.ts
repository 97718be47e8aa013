// Payouts as the API shows them, and their response schemas.
import { idSchema, jsonAmount, jsonTime, timestampSchema } from '../http/schemas.ts';
import { payoutAttemptStatuses, payoutStatuses } from './domain/payout-state.ts';
import { payoutSchedules } from './domain/schedule.ts';
import type { PayoutAttemptRow, PayoutRow, PayoutSettingsRow } from './repository.ts';

export const bankAccountSchema = {
  type: 'object',
  required: ['holder_name', 'account_number', 'bank_code'],
  additionalProperties: false,
  properties: {
    holder_name: { type: 'string', minLength: 1, maxLength: 70 },
    account_number: { type: 'string', pattern: '^[A-Za-z0-9]{4,34}$' },
    bank_code: { type: 'string', pattern: '^[A-Za-z0-9]{2,11}$' },
  },
} as const;

export const payoutSettingsSchema = {
  type: 'object',
  required: ['object', 'schedule', 'weekly_day', 'minimum_amount', 'currency', 'bank_account', 'updated_at'],
  properties: {
    object: { type: 'string', const: 'payout_settings' },
    schedule: { type: 'string', enum: payoutSchedules },
    weekly_day: { type: ['integer', 'null'] },
    minimum_amount: { type: 'integer' },
    currency: { type: 'string' },
    bank_account: bankAccountSchema,
    updated_at: timestampSchema,
  },
} as const;

const attemptSchema = {
  type: 'object',
  required: ['id', 'bank', 'status', 'sends', 'created_at'],
  properties: {
    id: idSchema('payout_attempt'),
    bank: { type: 'string' },
    status: { type: 'string', enum: payoutAttemptStatuses },
    sends: { type: 'integer' },
    bank_reference: { type: ['string', 'null'] },
    failure_code: { type: ['string', 'null'] },
    failure_message: { type: ['string', 'null'] },
    created_at: timestampSchema,
  },
} as const;

export const payoutSchema = {
  type: 'object',
  required: ['id', 'object', 'status', 'amount', 'currency', 'method', 'bank_account', 'attempts', 'created_at'],
  properties: {
    id: idSchema('payout'),
    object: { type: 'string', const: 'payout' },
    status: { type: 'string', enum: payoutStatuses },
    amount: { type: 'integer' },
    currency: { type: 'string' },
    method: { type: 'string', enum: ['manual', 'daily', 'weekly'] },
    bank: { type: ['string', 'null'] },
    bank_account: bankAccountSchema,
    failure_code: { type: ['string', 'null'] },
    failure_message: { type: ['string', 'null'] },
    return_reason: { type: ['string', 'null'] },
    attempts: { type: 'array', items: attemptSchema },
    created_at: timestampSchema,
    updated_at: timestampSchema,
  },
} as const;

export function payoutSettingsView(s: PayoutSettingsRow) {
  return {
    object: 'payout_settings', schedule: s.schedule, weekly_day: s.weekly_day, minimum_amount: jsonAmount(BigInt(s.minimum_amount)),
    currency: s.currency, bank_account: s.bank_account, updated_at: jsonTime(s.updated_at),
  };
}

export function payoutView(p: PayoutRow, attempts: readonly PayoutAttemptRow[]) {
  return {
    id: p.id, object: 'payout', status: p.status, amount: jsonAmount(BigInt(p.amount)), currency: p.currency, method: p.method, bank: p.bank,
    bank_account: p.bank_account, failure_code: p.failure_code, failure_message: p.failure_message, return_reason: p.return_reason,
    attempts: attempts.map((a) => ({
      id: a.id, bank: a.bank, status: a.status, sends: a.sends, bank_reference: a.bank_reference, failure_code: a.failure_code, failure_message: a.failure_message, created_at: jsonTime(a.created_at),
    })),
    created_at: jsonTime(p.created_at), updated_at: jsonTime(p.updated_at),
  };
}
