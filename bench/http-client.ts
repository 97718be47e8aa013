// A small JSON-over-HTTP client for the load generator: node:http with a keep-alive agent,
// no fetch (undici's per-request cost would compete with the server for the same two cores).

import http from 'node:http';

export const request_timeout_ms_default = 30_000;
/** Response bodies beyond this are cut (the benchmark only reads small JSON objects). */
export const response_body_bytes_max = 1024 * 1024;

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

export interface HttpClientOptions {
  readonly baseUrl: string;
  /** Sockets kept open to the server (about the number of requests in flight). */
  readonly sockets_max: number;
  readonly timeout_ms?: number;
}

export class HttpClient {
  private readonly agent: http.Agent;
  private readonly hostname: string;
  private readonly port: number;
  private readonly timeout_ms: number;

  constructor(options: HttpClientOptions) {
    const url = new URL(options.baseUrl);
    if (url.protocol !== 'http:') throw new Error(`only http: base URLs are supported, got ${options.baseUrl}`);
    if (!Number.isInteger(options.sockets_max) || options.sockets_max < 1) throw new RangeError('sockets_max must be a positive integer');
    this.hostname = url.hostname;
    this.port = Number(url.port || 80);
    this.timeout_ms = options.timeout_ms ?? request_timeout_ms_default;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.sockets_max, maxFreeSockets: options.sockets_max, scheduling: 'lifo' });
  }

  get(path: string, headers: Record<string, string> = {}): Promise<HttpResponse> {
    return this.send('GET', path, undefined, headers);
  }

  postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpResponse> {
    return this.send('POST', path, JSON.stringify(body), headers);
  }

  close(): void {
    this.agent.destroy();
  }

  private send(method: string, path: string, payload: string | undefined, headers: Record<string, string>): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const allHeaders: Record<string, string | number> = { accept: 'application/json', ...headers };
      if (payload !== undefined) {
        allHeaders['content-type'] = 'application/json';
        allHeaders['content-length'] = Buffer.byteLength(payload);
      }
      const request = http.request({ agent: this.agent, hostname: this.hostname, port: this.port, method, path, headers: allHeaders }, (response) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        response.on('data', (chunk: Buffer) => {
          if (bytes < response_body_bytes_max) chunks.push(chunk);
          bytes += chunk.length;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      });
      request.setTimeout(this.timeout_ms, () => request.destroy(new Error(`${method} ${path}: no response within ${this.timeout_ms} ms`)));
      request.on('error', reject);
      request.end(payload);
    });
  }
}
