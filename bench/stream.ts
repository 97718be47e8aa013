// The finance stream's publish and consume rates (events/s), embedded (consumers read the outbox)
// and on NATS JetStream, on a throwaway PostgreSQL cluster and nats-server. Prints numbers, asserts
// nothing. Run alone: `node --import tsx bench/stream.ts [--events N] [--merchants N]`.
//
// Each mode gets a database of its own. N payment.succeeded events are written to the outbox
// first (not timed); then the relay runs until everything is published (publish rate: outbox
// rows numbered and marked; with NATS also stored and acknowledged by JetStream), then the
// finance consumer runs until its lag is 0 (consume rate: read, deduplicated and projected).
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startApp, type RunningApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { appendEvents, type OutboxEvent } from '../src/outbox/outbox.ts';
import { relayOutboxEvents } from '../src/outbox/relay.ts';
import { runFinanceConsumer } from '../src/stream/consumer.ts';
import { freshDatabase } from '../test/support/fresh-database.ts';
import { natsServerBinary, startNatsServer, type NatsServer } from '../test/support/nats-server.ts';
import { startPgCluster, type PgCluster } from '../test/support/pg-cluster.ts';

export interface StreamBenchmarkOptions {
  /** Events written to the outbox, then published and consumed (default 20,000). */
  readonly events?: number;
  /** Merchants the events are spread over (default 50). */
  readonly merchants?: number;
  /** Run the NATS mode: 'auto' (default) when nats-server is installed. */
  readonly nats?: boolean | 'auto';
  /** Where the lines go (default console.log). */
  readonly print?: (line: string) => void;
}

export interface StreamModeResult {
  readonly mode: 'embedded' | 'nats';
  readonly events: number;
  readonly publishPerSecond: number;
  readonly consumePerSecond: number;
}

export interface StreamBenchmarkResult {
  readonly modes: readonly StreamModeResult[];
}

const eventsMax = 1_000_000;
const insertChunk = 1_000;

export async function runStreamBenchmark(options: StreamBenchmarkOptions = {}): Promise<StreamBenchmarkResult> {
  const events = options.events ?? 20_000;
  const merchants = options.merchants ?? 50;
  const print = options.print ?? ((line: string) => console.log(line));
  if (!(Number.isInteger(events) && events >= 1 && events <= eventsMax)) throw new Error(`events must be an integer from 1 to ${eventsMax}`);
  if (!(Number.isInteger(merchants) && merchants >= 1 && merchants <= events)) throw new Error('merchants must be an integer from 1 to events');
  const wantNats = options.nats === 'auto' || options.nats === undefined ? natsServerBinary() !== null : options.nats;
  let cluster: PgCluster | undefined;
  let nats: NatsServer | undefined;
  const modes: StreamModeResult[] = [];
  try {
    cluster = await startPgCluster();
    print(`stream benchmark: ${events} events over ${merchants} merchants, PostgreSQL ${cluster.url}`);
    modes.push(await runMode(cluster, 'embedded', null, events, merchants));
    print(line(modes[modes.length - 1]!));
    if (wantNats) {
      nats = await startNatsServer();
      modes.push(await runMode(cluster, 'nats', nats.url, events, merchants));
      print(line(modes[modes.length - 1]!));
    } else {
      print('nats: skipped (nats-server is not installed: apt-get install -y --no-install-recommends nats-server)');
    }
  } finally {
    await nats?.stop();
    cluster?.stop();
  }
  return { modes };
}

function line(result: StreamModeResult): string {
  return `${result.mode.padEnd(8)} publish ${Math.round(result.publishPerSecond)} events/s, consume ${Math.round(result.consumePerSecond)} events/s (${result.events} events)`;
}

async function runMode(cluster: PgCluster, mode: 'embedded' | 'nats', natsUrl: string | null, events: number, merchants: number): Promise<StreamModeResult> {
  const database = await freshDatabase(cluster.url, `clearway_stream_bench_${mode}`);
  let app: RunningApp | undefined;
  try {
    const config = loadConfig({
      PORT: '0', HOST: '127.0.0.1', CLEARWAY_ADMIN_KEY: `ak_bench_${randomBytes(12).toString('hex')}`, CLEARWAY_WORKERS: '0', DATABASE_URL: database.url,
      ...(natsUrl ? { NATS_URL: natsUrl, CLEARWAY_NATS_SUBJECT_PREFIX: `clearway.bench_${randomBytes(4).toString('hex')}` } : {}),
    });
    app = await startApp({ config, listen: false, logger: createLogger('silent') });
    const ctx = app.ctx;
    await writeEvents(app, events, merchants);

    let started = process.hrtime.bigint();
    let published = 0;
    for (;;) {
      const run = await relayOutboxEvents(ctx);
      published += run.events;
      if (run.events === 0) break;
    }
    const publishSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (published !== events) throw new Error(`the relay published ${published} events of ${events}`);

    started = process.hrtime.bigint();
    let applied = 0;
    for (;;) {
      const run = await runFinanceConsumer(ctx);
      applied += run.applied;
      if (run.lag === 0 && run.applied === 0) break;
    }
    const consumeSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (applied !== events) throw new Error(`the consumer applied ${applied} events of ${events}`);
    return { mode, events, publishPerSecond: events / publishSeconds, consumePerSecond: events / consumeSeconds };
  } finally {
    await app?.close();
    await database.drop();
  }
}

async function writeEvents(app: RunningApp, events: number, merchants: number): Promise<void> {
  const merchantIds = Array.from({ length: merchants }, (_, index) => `mch_bench${String(index).padStart(19, '0')}`);
  const now = app.ctx.clock.now();
  for (let start = 0; start < events; start += insertChunk) {
    const chunk: OutboxEvent[] = [];
    for (let index = start; index < Math.min(events, start + insertChunk); index++) {
      const paymentId = `pay_bench${String(index).padStart(19, '0')}`;
      chunk.push({
        merchantId: merchantIds[index % merchants]!, type: 'payment.succeeded', objectId: paymentId,
        payload: { payment_id: paymentId, order_id: 'ord_bench', channel: 'card_a', amount: String(1000 + (index % 97)), currency: 'USD', fee_amount: '30', channel_fee_amount: '20' },
      });
    }
    await app.ctx.db.transaction((tx) => appendEvents(tx, chunk, now));
  }
}

export const streamBenchUsage = `usage: clearway bench stream [--events N] [--merchants N] [--no-nats]

  --events N      payment.succeeded events written to the outbox, then published and consumed (default 20000)
  --merchants N   merchants the events are spread over (default 50)
  --no-nats       the embedded mode only (by default NATS runs too when nats-server is installed)`;

/** Flags of `clearway bench stream` (the numbers are checked by runStreamBenchmark). */
export function parseStreamBenchOptions(argv: readonly string[]): StreamBenchmarkOptions {
  const { values } = parseArgs({
    args: [...argv], strict: true, allowPositionals: false,
    options: { events: { type: 'string' }, merchants: { type: 'string' }, 'no-nats': { type: 'boolean' } },
  });
  return {
    ...(values.events === undefined ? {} : { events: Number(values.events) }),
    ...(values.merchants === undefined ? {} : { merchants: Number(values.merchants) }),
    ...(values['no-nats'] === true ? { nats: false } : {}),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runStreamBenchmark(parseStreamBenchOptions(process.argv.slice(2))).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
