// The lifecycle every sandbox shares: mounted on the platform's server under a prefix, listening
// on a loopback port of its own, or both; timers for what happens later (late successes) that
// stop at close; and close itself: held responses cut, timers cleared, outbound deliveries
// (notifications, webhooks) stopped, the own port closed.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { AddressInfo } from 'node:net';

export interface SandboxLifecycleOptions {
  /** The sandbox's routes, at the provider's own paths. */
  readonly routes: (scoped: FastifyInstance) => Promise<void>;
  /** Fastify's bodyLimit for the own port. */
  readonly bodyLimit: number;
  /** Fastify's return503OnClosing for the own port. */
  readonly return503OnClosing: boolean;
  /** Held responses, released first at close. */
  readonly holds: { releaseAll(): void };
  /** Outbound deliveries, stopped at close once the timers are cleared. */
  readonly outbound: { close(): void };
}

export interface SandboxLifecycle {
  /** True once close() was called. */
  readonly closed: boolean;
  /** base_url: the own port once listening; before that the mount prefix (relative), or '' when neither. */
  baseUrl(): string;
  /** Runs `run` after `delay_ms` unless the sandbox closes first; nothing once closed. */
  later(delay_ms: number, run: () => void): void;
  register(app: FastifyInstance, prefix: string): Promise<void>;
  listen(port?: number): Promise<string>;
  close(): Promise<void>;
}

export function createSandboxLifecycle(options: SandboxLifecycleOptions): SandboxLifecycle {
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  let own: { app: FastifyInstance; url: string } | null = null;
  let mountPrefix: string | null = null;
  return {
    get closed() {
      return closed;
    },
    baseUrl: () => own?.url ?? mountPrefix ?? '',
    later(delay_ms, run) {
      if (closed) return;
      const timer = setTimeout(() => {
        timers.delete(timer);
        run();
      }, delay_ms);
      timer.unref();
      timers.add(timer);
    },
    async register(app, prefix) {
      if (!/^(\/[A-Za-z0-9_-]+)+$/.test(prefix)) throw new Error(`register: bad prefix ${prefix}`);
      await app.register(options.routes, { prefix });
      mountPrefix = prefix;
    },
    async listen(port = 0) {
      if (closed) throw new Error('listen: the sandbox is closed');
      if (own !== null) return own.url;
      const app = Fastify({
        logger: false,
        bodyLimit: options.bodyLimit,
        ...(options.return503OnClosing ? { return503OnClosing: true } : {}),
        forceCloseConnections: true,
      });
      await app.register(options.routes);
      await app.listen({ host: '127.0.0.1', port });
      own = { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
      return own.url;
    },
    async close() {
      if (closed) return;
      closed = true;
      options.holds.releaseAll();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      options.outbound.close();
      if (own !== null) await own.app.close();
    },
  };
}

/** The sandbox closed while a response was held: the connection is cut and nothing is answered, as a dead gateway would. */
export function dropConnection(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply.hijack();
  request.raw.socket.destroy();
  return reply;
}
