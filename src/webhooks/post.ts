// One POST to a merchant's endpoint over node:http(s), with a total timeout. Operating errors
// (refused, reset, timeout, TLS) come back as values; redirects are not followed.
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { limits } from '../kernel/limits.ts';

export interface PostResult {
  /** The endpoint's HTTP status, or null when no answer arrived. */
  readonly statusCode: number | null;
  /** Why no 2xx: a network error, a timeout, or null when an answer arrived. */
  readonly error: string | null;
  readonly durationMs: number;
}

export function postWebhook(url: string, body: string, headers: Record<string, string>, timeoutMs: number = limits.webhook_delivery_timeout_ms): Promise<PostResult> {
  const started = performance.now();
  const elapsed = (): number => Math.max(0, Math.round(performance.now() - started));
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Omit<PostResult, 'durationMs'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, durationMs: elapsed() });
    };
    const target = new URL(url);
    const transport = target.protocol === 'https:' ? https : http;
    const request = transport.request(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'Clearway-Webhooks/1', ...headers },
    });
    const timer = setTimeout(() => {
      finish({ statusCode: null, error: `timeout after ${timeoutMs} ms` });
      request.destroy(new Error('timeout'));
    }, timeoutMs);
    request.on('response', (response) => {
      // The answer's body is not kept: drain it, then the status decides.
      response.resume();
      response.on('end', () => finish({ statusCode: response.statusCode ?? null, error: null }));
      response.on('error', (error) => finish({ statusCode: response.statusCode ?? null, error: `response: ${error.message}` }));
    });
    request.on('error', (error: NodeJS.ErrnoException) => finish({ statusCode: null, error: error.code ? `${error.code}: ${error.message}` : error.message }));
    request.end(body);
  });
}
