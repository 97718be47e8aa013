import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ClearwayError, errorCatalog, type ErrorCode } from '../kernel/errors.ts';

export interface ErrorBody {
  error: { type: string; code: ErrorCode; message: string; param?: string; request_id: string };
}

export function errorBody(error: ClearwayError, requestId: string): ErrorBody {
  return {
    error: {
      type: error.type,
      code: error.code,
      message: error.message,
      ...(error.param === undefined ? {} : { param: error.param }),
      request_id: requestId,
    },
  };
}

/** `/items/0/quantity` -> `items[0].quantity` */
export function paramFromPointer(pointer: string): string {
  return pointer
    .split('/')
    .filter((part) => part !== '')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc === '' ? part : `${acc}.${part}`), '');
}

interface AjvIssue {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

function joinParam(base: string, child: string): string {
  return base === '' ? child : `${base}.${child}`;
}

/** Turns the first schema-validation issue into a coded error naming the offending param. */
export function validationError(issues: readonly AjvIssue[], context: string): ClearwayError {
  const issue = issues[0];
  if (!issue) return new ClearwayError('invalid_param', 'The request is not valid.');
  const base = paramFromPointer(issue.instancePath);
  const where = context === 'body' ? '' : `${context} `;
  switch (issue.keyword) {
    case 'additionalProperties': {
      const param = joinParam(base, String(issue.params.additionalProperty));
      return new ClearwayError('unknown_param', `Unknown ${where}parameter: ${param}.`, { param });
    }
    case 'required': {
      const param = joinParam(base, String(issue.params.missingProperty));
      return new ClearwayError('missing_param', `Missing required ${where}parameter: ${param}.`, { param });
    }
    default: {
      const param = base === '' ? context : base;
      return new ClearwayError('invalid_param', `Invalid ${where}parameter ${param}: ${issue.message ?? 'not valid'}.`, { param });
    }
  }
}

/** Maps any error thrown while handling a request to a catalog error. Never lets bad input become a 500. */
export function toClearwayError(error: FastifyError | ClearwayError | Error): ClearwayError {
  if (error instanceof ClearwayError) return error;
  const fe = error as FastifyError & { validationContext?: string };
  if (fe.validation) return validationError(fe.validation as AjvIssue[], fe.validationContext ?? 'body');
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ClearwayError('invalid_json', `The body is not valid JSON: ${fe.message}`);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ClearwayError('body_too_large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ClearwayError('unsupported_media_type');
  }
  if (error instanceof SyntaxError) return new ClearwayError('invalid_json', `The body is not valid JSON: ${error.message}`);
  if (fe.statusCode === 429) return new ClearwayError('rate_limited');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new ClearwayError('invalid_param', fe.message);
  }
  return new ClearwayError('internal_error');
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: ClearwayError): FastifyReply {
  if (error.headers) reply.headers(error.headers);
  return reply.code(errorCatalog[error.code].status).type('application/json').send(errorBody(error, request.id));
}
