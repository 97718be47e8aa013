// The NATS stream of a running Clearway (NATS_URL set), looked up by its context. Kept beside
// the context rather than in it: only the relay and the stream consumers use it.
import type { AppContext } from '../http/context.ts';
import { assert } from '../kernel/errors.ts';
import type { NatsStream } from './nats.ts';

const streams = new WeakMap<AppContext, NatsStream>();

export function attachNatsStream(ctx: AppContext, stream: NatsStream): void {
  assert(!streams.has(ctx), 'one NATS stream per running Clearway');
  streams.set(ctx, stream);
}

export function detachNatsStream(ctx: AppContext): NatsStream | undefined {
  const stream = streams.get(ctx);
  streams.delete(ctx);
  return stream;
}

export function natsStreamOf(ctx: AppContext): NatsStream | undefined {
  return streams.get(ctx);
}
