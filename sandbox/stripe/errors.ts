// What an endpoint answers, and Stripe's error bodies:
//   {"error": {"type", "code"?, "message", "param"?, "doc_url"?}}

export interface ApiResult {
  readonly status: number;
  readonly body: unknown;
  /** True once the endpoint began to run: the response is saved under the idempotency key. */
  readonly saved: boolean;
}

export type StripeErrorType = 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';

export function errorBody(type: StripeErrorType, message: string, extra: { code?: string; param?: string } = {}): { error: Record<string, unknown> } {
  const error: Record<string, unknown> = { type, message };
  if (extra.code !== undefined) {
    error['code'] = extra.code;
    error['doc_url'] = `https://stripe.com/docs/error-codes/${extra.code.replace(/_/g, '-')}`;
  }
  if (extra.param !== undefined) error['param'] = extra.param;
  return { error };
}

/** A parameter is wrong: nothing ran, nothing is saved. */
export function invalidParam(message: string, param: string, code = 'parameter_invalid'): ApiResult {
  return { status: 400, body: errorBody('invalid_request_error', message, { code, param }), saved: false };
}

export function missingParam(param: string): ApiResult {
  return { status: 400, body: errorBody('invalid_request_error', `Missing required param: ${param}.`, { code: 'parameter_missing', param }), saved: false };
}

export function unknownParam(param: string): ApiResult {
  return {
    status: 400,
    body: errorBody('invalid_request_error', `Received unknown parameter: ${param}`, { code: 'parameter_unknown', param }),
    saved: false,
  };
}

/** An object named in the URL does not exist (404), or one named by a parameter (400). */
export function resourceMissing(kind: string, id: string, param?: string): ApiResult {
  const message = `No such ${kind}: '${id}'`;
  if (param === undefined) return { status: 404, body: errorBody('invalid_request_error', message, { code: 'resource_missing', param: 'id' }), saved: false };
  return { status: 400, body: errorBody('invalid_request_error', message, { code: 'resource_missing', param }), saved: false };
}

/** The request ran and was refused by the object's state or amounts: saved like any response. */
export function stateError(message: string, code: string, param?: string): ApiResult {
  return { status: 400, body: errorBody('invalid_request_error', message, param === undefined ? { code } : { code, param }), saved: true };
}
