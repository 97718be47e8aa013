// The HTTP mechanics both bank connectors share: one request and its whole body over the
// platform's one HTTP exchange (src/channels/shared/http-exchange.ts: keep-alive agent, one timer
// over everything, body cap, `not_sent` vs `unknown`). What a body means is each bank's
// transformers' business.
import type { Agent as HttpAgent, OutgoingHttpHeaders } from 'node:http';
import type { ChannelCallFailure } from '../../channels/contract.ts';
import { createKeepAliveAgent, httpExchange, httpTargetOf, type HttpTarget } from '../../channels/shared/http-exchange.ts';
import { payoutLimits } from '../limits.ts';

export interface BankHttp {
  readonly target: HttpTarget;
  /** The base URL's path without its trailing slashes. */
  readonly basePath: string;
  readonly agent: HttpAgent;
  readonly timeoutMs: number;
  close(): void;
}

export type BankExchange = { readonly kind: 'response'; readonly status: number; readonly raw: Buffer } | ChannelCallFailure;

export function createBankHttp(baseUrl: string, timeoutMs: number, who: string): BankHttp {
  if (!(Number.isInteger(timeoutMs) && timeoutMs >= 1 && timeoutMs <= payoutLimits.bank_call_timeout_ms * 6)) throw new Error(`${who}: timeoutMs out of range`);
  const url = new URL(baseUrl);
  const target = httpTargetOf(url, `${who}: baseUrl`);
  const agent = createKeepAliveAgent(target.secure, payoutLimits);
  return Object.freeze({ target, basePath: url.pathname.replace(/\/+$/, ''), agent, timeoutMs, close: () => agent.destroy() });
}

export function bankRequest(http: BankHttp, method: 'GET' | 'POST' | 'PUT', path: string, headers: OutgoingHttpHeaders, body: Buffer | null): Promise<BankExchange> {
  const sent: OutgoingHttpHeaders = { ...headers, 'user-agent': 'Clearway/0.1 (payouts)' };
  if (body !== null) sent['content-length'] = body.length;
  return httpExchange<BankExchange>({
    target: http.target,
    agent: http.agent,
    method,
    path: `${http.basePath}${path}`,
    headers: sent,
    body,
    timeoutMs: http.timeoutMs,
    reader: {
      bodyBytesMax: payoutLimits.response_body_bytes_max,
      overMax: (status) => ({ kind: 'unknown', reason: `http ${status}: body over ${payoutLimits.response_body_bytes_max} bytes` }),
      complete: (status, raw) => ({ kind: 'response', status, raw }),
    },
  });
}

/** How a bank's server error reads: it may have run the request (ambiguous) — 503 included, as we cannot know. */
export function serverFailure(status: number): ChannelCallFailure {
  return { kind: 'unknown', reason: `http ${status}` };
}
