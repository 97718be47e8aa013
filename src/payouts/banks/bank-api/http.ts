// The JSON-API bank connector: the HTTP mechanics of each flow (create with Idempotency-Key,
// query, cancel); the meaning of every body is in transformers.ts.
import type { Clock } from '../../../kernel/clock.ts';
import type { BankCancelOutcome, BankOutcome, BankQueryOutcome, PayoutBankConnector, PayoutInstruction } from '../contract.ts';
import { bankRequest, createBankHttp } from '../exchange.ts';
import { creditTransferBody, readTransferResponse, verifyBankApiNotification } from './transformers.ts';

export interface BankApiConnectorOptions {
  readonly bank: string;
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly webhookSecret: string;
  readonly timeoutMs: number;
  readonly clock: Clock;
  /** How far a notification's signed timestamp may be from now (default 300 s). */
  readonly signatureToleranceSeconds?: number;
}

export function createBankApiConnector(options: BankApiConnectorOptions): PayoutBankConnector {
  const http = createBankHttp(options.baseUrl, options.timeoutMs, 'createBankApiConnector');
  const headers = { authorization: `Bearer ${options.apiKey}`, accept: 'application/json' };
  const path = (attemptId: string, suffix = ''): string => `/v1/credit-transfers/${encodeURIComponent(attemptId)}${suffix}`;

  async function submit(instruction: PayoutInstruction): Promise<BankOutcome> {
    const exchange = await bankRequest(http, 'POST', '/v1/credit-transfers', { ...headers, 'content-type': 'application/json', 'idempotency-key': instruction.attemptId }, creditTransferBody(instruction));
    if (exchange.kind !== 'response') return exchange;
    const outcome = readTransferResponse(exchange.status, exchange.raw, instruction);
    if (outcome.kind === 'not_found' || outcome.kind === 'canceled') return { kind: 'unknown', reason: `create answered ${outcome.kind}` };
    return outcome;
  }

  async function query(instruction: PayoutInstruction): Promise<BankQueryOutcome> {
    const exchange = await bankRequest(http, 'GET', path(instruction.attemptId), headers, null);
    if (exchange.kind !== 'response') return exchange;
    const outcome = readTransferResponse(exchange.status, exchange.raw, instruction);
    return outcome.kind === 'canceled' ? { kind: 'result', attemptId: instruction.attemptId, status: 'rejected', bankReference: null, amount: instruction.amount, currency: instruction.currency, reason: 'canceled_by_sender' } : outcome;
  }

  async function cancel(instruction: PayoutInstruction): Promise<BankCancelOutcome> {
    const exchange = await bankRequest(http, 'POST', path(instruction.attemptId, '/cancel'), { ...headers, 'content-type': 'application/json' }, Buffer.from('{}'));
    if (exchange.kind !== 'response') return exchange;
    const outcome = readTransferResponse(exchange.status, exchange.raw, instruction);
    if (outcome.kind === 'not_found') return { kind: 'unknown', reason: 'cancel answered 404' };
    if (outcome.kind === 'result' && outcome.status === 'rejected') return { kind: 'canceled' };
    return outcome;
  }

  return {
    bank: options.bank,
    submit,
    query,
    cancel,
    verifyNotification(rawBody, requestHeaders) {
      const header = requestHeaders['bank-signature'];
      const nowSeconds = Math.floor(options.clock.now().getTime() / 1000);
      return verifyBankApiNotification(rawBody, Array.isArray(header) ? header[0] : header, options.webhookSecret, nowSeconds, options.signatureToleranceSeconds ?? 300);
    },
    close: () => http.close(),
  };
}
