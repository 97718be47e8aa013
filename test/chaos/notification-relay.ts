// A chaos relay between the sandboxes and Clearway's /notify/:channel: every notification a
// sandbox sends is held for a random delay before it is forwarded (so notifications overtake one
// another: a `payment_intent.processing` may land after its `payment_intent.succeeded`), and some
// are forwarded again, byte for byte with their original signature, a while later (a replay that
// arrives out of order, after newer news). The sandbox gets Clearway's own answer to the first
// copy (status, type and body), so its retry logic sees exactly what it would see without us.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RelayOptions {
  /** Clearway's base URL; a request for /notify/:channel is forwarded to `${target}/notify/:channel`. */
  readonly target: string;
  /** Seeded randomness, [0, 1). */
  readonly random: () => number;
  /** Each notification waits up to this long before it is forwarded. */
  readonly delay_ms_max: number;
  /** Share of notifications forwarded a second time, later. */
  readonly replay_rate: number;
  /** When the replay goes, after the first copy was answered. */
  readonly replay_delay_ms_min: number;
  readonly replay_delay_ms_max: number;
}

export interface RelayStats {
  received: number;
  replayed: number;
  /** Clearway's answers, by channel and status code, first copies and replays alike. */
  answers: Record<string, Record<string, number>>;
  /** Forwards that got no HTTP answer at all. */
  transport_errors: number;
}

export interface NotificationRelay {
  readonly url: string;
  stats(): RelayStats;
  /** Resolves once nothing is waiting, in flight or scheduled for replay. */
  idle(timeout_ms: number): Promise<void>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hopByHop = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startNotificationRelay(options: RelayOptions): Promise<NotificationRelay> {
  const stats: RelayStats = { received: 0, replayed: 0, answers: {}, transport_errors: 0 };
  let busy = 0;
  const between = (min: number, max: number) => min + Math.floor(options.random() * (max - min + 1));

  async function forward(path: string, channel: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; type: string; text: string } | null> {
    try {
      const response = await fetch(`${options.target}${path}`, { method: 'POST', headers, body: new Uint8Array(body) });
      const text = await response.text();
      const byChannel = (stats.answers[channel] ??= {});
      byChannel[String(response.status)] = (byChannel[String(response.status)] ?? 0) + 1;
      return { status: response.status, type: response.headers.get('content-type') ?? 'text/plain', text };
    } catch {
      stats.transport_errors += 1;
      return null;
    }
  }

  async function handle(request: IncomingMessage, reply: ServerResponse): Promise<void> {
    busy += 1;
    try {
      const path = request.url ?? '/';
      const channel = /^\/notify\/([A-Za-z0-9_-]+)$/.exec(path)?.[1];
      const body = await readBody(request);
      if (request.method !== 'POST' || channel === undefined) {
        reply.writeHead(404).end();
        return;
      }
      stats.received += 1;
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers)) {
        if (!hopByHop.has(name) && typeof value === 'string') headers[name] = value;
      }
      await sleep(between(0, options.delay_ms_max));
      const answer = await forward(path, channel, headers, body);
      if (answer === null) reply.writeHead(502).end();
      else reply.writeHead(answer.status, { 'content-type': answer.type }).end(answer.text);
      if (options.random() < options.replay_rate) {
        stats.replayed += 1;
        busy += 1;
        void sleep(between(options.replay_delay_ms_min, options.replay_delay_ms_max))
          .then(() => forward(path, channel, headers, body))
          .finally(() => (busy -= 1));
      }
    } finally {
      busy -= 1;
    }
  }

  const server: Server = createServer((request, reply) => {
    handle(request, reply).catch(() => {
      if (!reply.headersSent) reply.writeHead(500);
      reply.end();
    });
  });
  server.keepAliveTimeout = 4_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    stats: () => structuredClone(stats),
    async idle(timeout_ms) {
      const deadline = Date.now() + timeout_ms;
      while (busy > 0) {
        if (Date.now() > deadline) throw new Error(`notification relay still busy (${busy}) after ${timeout_ms} ms`);
        await sleep(20);
      }
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
