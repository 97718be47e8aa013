// The one catalog of coded errors. API responses, logs and docs/errors.md use these codes;
// a test keeps the catalog, the docs and the route schemas in step.

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'idempotency_error'
  | 'rate_limit_error'
  | 'state_error'
  | 'channel_error'
  | 'api_error';

interface CatalogEntry {
  readonly status: number;
  readonly type: ErrorType;
  readonly description: string;
}

export const errorCatalog = {
  // 400: the request itself is wrong
  invalid_json: { status: 400, type: 'invalid_request_error', description: 'The body is not valid JSON.' },
  invalid_param: { status: 400, type: 'invalid_request_error', description: 'A parameter has the wrong type, format or range; `param` names it.' },
  missing_param: { status: 400, type: 'invalid_request_error', description: 'A required parameter is missing; `param` names it.' },
  unknown_param: { status: 400, type: 'invalid_request_error', description: 'The body carries a field this route does not accept; `param` names it.' },
  unsupported_currency: { status: 400, type: 'invalid_request_error', description: 'The currency is not an ISO 4217 code Clearway supports.' },
  amount_too_large: { status: 400, type: 'invalid_request_error', description: 'An amount or total exceeds the maximum one amount may carry.' },
  unsupported_time_zone: { status: 400, type: 'invalid_request_error', description: 'A time zone is not an IANA zone name Clearway knows (e.g. Asia/Shanghai, UTC).' },
  time_window_empty: { status: 400, type: 'invalid_request_error', description: 'A time window\'s from equals its to; the whole day is 00:00-24:00.' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error', description: 'The body must be application/json.' },
  body_too_large: { status: 413, type: 'invalid_request_error', description: 'The body exceeds the size limit.' },
  // coupons and pricing
  coupon_not_found: { status: 400, type: 'invalid_request_error', description: 'A coupon code does not exist for this merchant.' },
  coupon_expired: { status: 400, type: 'invalid_request_error', description: 'The coupon is past its valid_until.' },
  coupon_not_yet_valid: { status: 400, type: 'invalid_request_error', description: 'The coupon is before its valid_from.' },
  coupon_currency_mismatch: { status: 400, type: 'invalid_request_error', description: 'A fixed-amount coupon is in another currency than the order.' },
  coupon_minimum_not_met: { status: 400, type: 'invalid_request_error', description: 'The order subtotal is below the coupon\'s min_subtotal.' },
  coupon_not_stackable: { status: 400, type: 'invalid_request_error', description: 'The coupons cannot be combined on one order.' },
  coupon_duplicated: { status: 400, type: 'invalid_request_error', description: 'The same coupon code is given twice.' },
  coupon_exhausted: { status: 409, type: 'state_error', description: 'The coupon has reached its max_redemptions.' },
  coupon_code_taken: { status: 409, type: 'state_error', description: 'A coupon with this code already exists for this merchant.' },
  amount_mismatch: { status: 409, type: 'state_error', description: 'expected_amount_total differs from the amount the server priced.' },
  // auth
  unauthorized: { status: 401, type: 'authentication_error', description: 'No API key, or a key that is not valid.' },
  forbidden: { status: 403, type: 'authentication_error', description: 'The key may not use this route (e.g. a merchant key on an admin route).' },
  // lookups and state
  not_found: { status: 404, type: 'invalid_request_error', description: 'No object with this id exists for this key.' },
  route_not_found: { status: 404, type: 'invalid_request_error', description: 'No such route.' },
  order_not_payable: { status: 409, type: 'state_error', description: 'The order is not pending_payment (already paying, paid, cancelled or expired).' },
  order_not_cancellable: { status: 409, type: 'state_error', description: 'The order cannot be cancelled in its current status.' },
  payment_not_refundable: { status: 409, type: 'state_error', description: 'Only a succeeded payment can be refunded.' },
  refund_exceeds_captured: { status: 409, type: 'state_error', description: 'The refund would take the refunded total above the captured amount.' },
  refund_limit_reached: { status: 409, type: 'state_error', description: 'The payment already has the maximum number of refunds.' },
  payment_method_unavailable: { status: 400, type: 'invalid_request_error', description: 'No channel can take this method, currency and amount now.' },
  webhook_endpoint_disabled: { status: 409, type: 'state_error', description: 'The webhook endpoint is disabled; its deliveries cannot be sent again.' },
  webhook_endpoints_limit_reached: { status: 409, type: 'state_error', description: 'The merchant already has the maximum number of enabled webhook endpoints.' },
  // payouts
  payout_settings_missing: { status: 409, type: 'state_error', description: 'The merchant has no payout settings (PUT /v1/payout_settings first: schedule, minimum amount, currency, bank account).' },
  payout_exceeds_available: { status: 409, type: 'state_error', description: 'The payout amount is more than the available balance (or nothing is available); nothing was written.' },
  payout_below_minimum: { status: 409, type: 'state_error', description: 'The payout amount is below the minimum_amount of the merchant\'s payout settings.' },
  payout_currency_mismatch: { status: 400, type: 'invalid_request_error', description: 'The payout currency is not the currency of the merchant\'s payout settings.' },
  // settlement
  settlement_not_settled: { status: 409, type: 'state_error', description: 'The settlement batch failed its control totals and was not settled; it has a failure report but no statement.' },
  settlement_statement_too_large: { status: 409, type: 'state_error', description: 'The settlement batch has more transactions than one statement may carry.' },
  settlement_statement_mismatch: { status: 409, type: 'state_error', description: 'The transactions of a settlement batch no longer add up to the batch (rows changed after settlement); the statement is withheld.' },
  concurrent_update: { status: 409, type: 'state_error', description: 'The object changed while the request ran; retry it.' },
  // idempotency
  idempotency_key_reused: { status: 422, type: 'idempotency_error', description: 'The Idempotency-Key was used with a different request body.' },
  idempotency_key_in_use: { status: 409, type: 'idempotency_error', description: 'A request with this Idempotency-Key is still running.' },
  // limits
  rate_limited: { status: 429, type: 'rate_limit_error', description: 'Too many requests for this key; wait Retry-After seconds.' },
  // ours
  internal_error: { status: 500, type: 'api_error', description: 'Something went wrong on our side; the request id locates it in the logs.' },
  service_unavailable: { status: 503, type: 'api_error', description: 'The database is not reachable or migrations are not current.' },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof errorCatalog;

export class ClearwayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: ErrorType;
  readonly param: string | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message?: string, options: { param?: string; headers?: Record<string, string> } = {}) {
    const entry = errorCatalog[code];
    super(message ?? entry.description);
    this.code = code;
    this.status = entry.status;
    this.type = entry.type;
    this.param = options.param;
    this.headers = options.headers;
  }
}

export function fail(code: ErrorCode, message?: string, param?: string): never {
  throw new ClearwayError(code, message, param === undefined ? {} : { param });
}

/** Invariant check: a failed assertion is a programmer error and crashes the request. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}
