import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly payments: Counter<'status' | 'channel' | 'method'>;
  readonly channelCalls: Histogram<'channel' | 'flow' | 'outcome'>;
  readonly notifications: Counter<'channel' | 'verdict'>;
  /** 0 closed, 1 half-open, 2 open. */
  readonly circuitState: Gauge<'channel'>;
  readonly circuitTransitions: Counter<'channel' | 'from' | 'to'>;
  readonly channelRejections: Counter<'channel' | 'flow' | 'reason'>;
  readonly webhookDeliveries: Counter<'outcome'>;
  readonly webhookBacklog: Gauge;
  readonly lateSuccessRefunds: Counter<'channel' | 'outcome'>;
  readonly abandonedPayments: Counter<'channel' | 'outcome'>;
  /** The finance stream (docs/stream.md). */
  readonly outboxBacklog: Gauge;
  readonly streamPublished: Counter<'transport'>;
  readonly streamConsumed: Counter<'consumer' | 'outcome'>;
  readonly streamConsumerLag: Gauge<'consumer'>;
  readonly financeEventNotes: Counter<'reason'>;
  readonly financeConsistencyDifferences: Gauge<'check'>;
  readonly financeConsistencyRuns: Counter<'result'>;
  /** Payment outcomes written together by one transaction (src/payments/outcome-writes.ts). */
  readonly outcomeBatches: Histogram<'outcome'>;
  readonly outcomeBatchStatements: Counter<'written_by'>;
  readonly startBatches: Histogram<'outcome'>;
  readonly orderBatches: Histogram<'outcome'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'clearway_process_' });
  return {
    registry,
    httpRequests: new Counter({
      name: 'clearway_http_requests_total',
      help: 'HTTP requests by method, route and status code.',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'clearway_http_request_duration_seconds',
      help: 'HTTP request latency by method and route.',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    payments: new Counter({
      name: 'clearway_payments_total',
      help: 'Payments reaching a status, by status, channel and method.',
      labelNames: ['status', 'channel', 'method'],
      registers: [registry],
    }),
    channelCalls: new Histogram({
      name: 'clearway_channel_call_duration_seconds',
      help: 'Connector calls by channel, flow and outcome.',
      labelNames: ['channel', 'flow', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    notifications: new Counter({
      name: 'clearway_channel_notifications_total',
      help: 'Channel notifications by channel and verdict (applied, duplicate, rejected, mismatch, unknown_attempt, ignored).',
      labelNames: ['channel', 'verdict'],
      registers: [registry],
    }),
    circuitState: new Gauge({
      name: 'clearway_channel_circuit_state',
      help: 'Circuit breaker state per channel: 0 closed, 1 half-open, 2 open.',
      labelNames: ['channel'],
      registers: [registry],
    }),
    circuitTransitions: new Counter({
      name: 'clearway_channel_circuit_transitions_total',
      help: 'Circuit breaker state changes per channel, by the state left and the state entered.',
      labelNames: ['channel', 'from', 'to'],
      registers: [registry],
    }),
    channelRejections: new Counter({
      name: 'clearway_channel_calls_rejected_total',
      help: 'Channel calls refused before reaching the channel, by flow and reason (circuit_open, bulkhead_full).',
      labelNames: ['channel', 'flow', 'reason'],
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'clearway_webhook_delivery_attempts_total',
      help: 'Webhook delivery attempts by outcome (delivered, retry, failed).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    lateSuccessRefunds: new Counter({
      name: 'clearway_late_success_refunds_total',
      help: 'Late successes (money captured for a payment already final) by channel and outcome (recorded, succeeded, failed, retry).',
      labelNames: ['channel', 'outcome'],
      registers: [registry],
    }),
    abandonedPayments: new Counter({
      name: 'clearway_abandoned_payments_total',
      help: 'Payments left waiting on the payer past CLEARWAY_ACTION_TTL_SECONDS, by channel and outcome (canceled, paid_meanwhile, retry).',
      labelNames: ['channel', 'outcome'],
      registers: [registry],
    }),
    webhookBacklog: new Gauge({
      name: 'clearway_webhook_deliveries_pending',
      help: 'Webhook deliveries not yet delivered or failed (set by the delivery worker).',
      registers: [registry],
    }),
    outboxBacklog: new Gauge({
      name: 'clearway_outbox_events_unpublished',
      help: 'Outbox events the relay has not published yet: its backlog (set after each relay run).',
      registers: [registry],
    }),
    streamPublished: new Counter({
      name: 'clearway_stream_events_published_total',
      help: 'Events published by the outbox relay, by transport (outbox: marked published for embedded consumers; nats: stored by JetStream).',
      labelNames: ['transport'],
      registers: [registry],
    }),
    streamConsumed: new Counter({
      name: 'clearway_stream_events_consumed_total',
      help: 'Stream events read by a consumer, by outcome (applied, duplicate, ignored: no money in it, skipped: unusable payload).',
      labelNames: ['consumer', 'outcome'],
      registers: [registry],
    }),
    streamConsumerLag: new Gauge({
      name: 'clearway_stream_consumer_lag_events',
      help: 'Published events a stream consumer has not applied yet (set after each consumer run).',
      labelNames: ['consumer'],
      registers: [registry],
    }),
    financeEventNotes: new Counter({
      name: 'clearway_finance_event_warnings_total',
      help: 'Finance events read with a field missing (read as 0) or skipped, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    financeConsistencyDifferences: new Gauge({
      name: 'clearway_finance_consistency_differences',
      help: 'Differences the last finance consistency run found, by check.',
      labelNames: ['check'],
      registers: [registry],
    }),
    financeConsistencyRuns: new Counter({
      name: 'clearway_finance_consistency_runs_total',
      help: 'Finance consistency runs, by result (consistent, differences).',
      labelNames: ['result'],
      registers: [registry],
    }),
    outcomeBatches: new Histogram({
      name: 'clearway_outcome_batch_size',
      help: 'Payment outcomes written by one transaction (group commit), by outcome (written; failed: rolled back and written one by one).',
      labelNames: ['outcome'],
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: [registry],
    }),
    outcomeBatchStatements: new Counter({
      name: 'clearway_outcome_batches_total',
      help: 'Batches of outcomes by how their guarded writes ran: one_statement (set-based) or statement_each (a batch holding a failover or a late success, or one payment twice).',
      labelNames: ['written_by'],
      registers: [registry],
    }),
    startBatches: new Histogram({
      name: 'clearway_payment_start_batch_size',
      help: 'Payment starts written together (group commit), by outcome (written: by one statement; failed: the statement failed and each start was written alone; one_by_one: one order or idempotency key twice in the batch).',
      labelNames: ['outcome'],
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: [registry],
    }),
    orderBatches: new Histogram({
      name: 'clearway_order_batch_size',
      help: 'New orders written together (group commit), by outcome (written: by one statement; failed: the statement failed and each order was written alone; one_by_one: one idempotency key twice in the batch).',
      labelNames: ['outcome'],
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: [registry],
    }),
  };
}
