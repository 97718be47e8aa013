// The one connector contract suite (STYLE.md: one interface, several implementations, one
// shared test suite every implementation must pass; a skip carries its reason). Each connector
// runs it against its own sandbox over real HTTP, and the oracle for "money moved" is the
// sandbox's own ledger, never the connector's word.
//
// A subject says how to start its sandbox, build its connector and make a payment succeed; the
// suite registers the same cases for every subject. Where a case cannot apply to a subject, it is
// registered as a skip whose title says why.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  channelPaymentNotFound,
  type ChannelMethod,
  type ChannelPaymentOutcome,
  type ChannelPaymentRequest,
  type ChannelRefundOutcome,
  type ChannelRefundRequest,
  type Connector,
  type NotificationAnswer,
  type NotificationVerdict,
} from './contract.ts';
import type { ChannelSandbox } from './sandbox.ts';

/** Bounds on every wait in the suite: generous, so a slow 2-core CI machine never trips them. */
export const contractSuiteLimits = Object.freeze({
  /** How long to wait for the sandbox's notification for one payment. */
  notification_wait_ms_max: 15_000,
  /** How long to wait for a payment or refund to become final at the channel. */
  settle_wait_ms_max: 15_000,
  poll_interval_ms: 25,
  /** Notifications a receiver keeps (a runaway sandbox cannot exhaust memory). */
  notifications_kept_max: 10_000,
  notification_body_bytes_max: 1_000_000,
  /** The connector timeout subjects should use: far above any sandbox round trip here. */
  connector_timeout_ms: 5_000,
});

/** One notification exactly as the sandbox sent it. */
export interface CapturedNotification {
  readonly path: string;
  readonly body: Buffer;
  readonly headers: IncomingHttpHeaders;
}

export interface StartedSubject {
  readonly connector: Connector;
  readonly sandbox: ChannelSandbox;
  /** Every notification the sandbox sent to the receiver, in arrival order. */
  readonly notifications: CapturedNotification[];
  /** A second connector from the same credentials, pointed at another base URL (stop() closes it). */
  connectorAt(baseUrl: string): Connector;
  stop(): Promise<void>;
}

export interface ContractSubject {
  readonly name: string;
  readonly method: ChannelMethod;
  readonly currency: string;
  /** A payable amount for this channel, in minor units. */
  readonly amount: bigint;
  /**
   * How a payment becomes `succeeded`: `immediate` when createPayment with paymentMethodData
   * settles it (cards); `payer_completes` when createPayment asks for action (a QR code) and the
   * payer then pays in their app (the sandbox's payerCompletes).
   */
  readonly flow: 'immediate' | 'payer_completes';
  /** What queryPayment says for a trade number the channel never saw. */
  readonly unknownTradeQuery: 'failed_not_found' | 'unknown';
  /** What createPayment says while the channel is in an outage (never a result). */
  readonly outageOutcome: 'unknown' | 'not_sent';
  start(): Promise<StartedSubject>;
  readonly paymentMethodData: Readonly<Record<string, string>>;
  /** Method data that the channel declines synchronously (cards); absent when it has none. */
  readonly declineData?: Readonly<Record<string, string>>;
}

// ---------------------------------------------------------------------------------------------
// The notification receiver: the platform's POST /notify/:channel in miniature.

export interface NotificationReceiver {
  readonly url: string;
  readonly notifications: CapturedNotification[];
  /** Sets how notifications are answered (the connector's answerNotification, once it exists). */
  answerWith(answer: (() => NotificationAnswer) | null): void;
  close(): Promise<void>;
}

/**
 * A node:http server on 127.0.0.1:0 that records the raw body and headers of every request and
 * answers as the connector says a handled notification is answered (or a bare 200).
 */
export async function startNotificationReceiver(path: string): Promise<NotificationReceiver> {
  expect(path).toMatch(/^(\/[A-Za-z0-9_-]+)+$/);
  const notifications: CapturedNotification[] = [];
  let answer: (() => NotificationAnswer) | null = null;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= contractSuiteLimits.notification_body_bytes_max) chunks.push(chunk);
    });
    request.on('end', () => {
      if (size > contractSuiteLimits.notification_body_bytes_max) {
        response.writeHead(413).end();
        return;
      }
      if (notifications.length < contractSuiteLimits.notifications_kept_max) {
        notifications.push({ path: request.url ?? '', body: Buffer.concat(chunks), headers: { ...request.headers } });
      }
      const reply = answer?.() ?? { status: 200, contentType: 'text/plain', body: '' };
      response.writeHead(reply.status, { 'content-type': reply.contentType }).end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    notifications,
    answerWith(next) {
      answer = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A loopback port nobody listens on: bound, read, released. */
export async function closedLoopbackPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  expect(port).toBeGreaterThan(0);
  return port;
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the cases.

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it gives a value or the deadline passes. */
async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, deadline_ms: number): Promise<T> {
  const deadline = Date.now() + deadline_ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`contract suite: no ${what} within ${deadline_ms} ms`);
    await sleep(contractSuiteLimits.poll_interval_ms);
  }
}

/** A fresh trade number: at most 32 characters of [A-Za-z0-9_] (WeChat Pay's bound is the tightest). */
function tradeNumber(caseNumber: number): string {
  const out_trade_no = `ct${caseNumber}_${Date.now().toString(36)}_${randomBytes(5).toString('hex')}`;
  expect(out_trade_no.length).toBeLessThanOrEqual(32);
  return out_trade_no;
}

function chargedFor(sandbox: ChannelSandbox, out_trade_no: string): { charged: number; refunded: number; rows: number } {
  const rows = sandbox.ledger().filter((row) => row.out_trade_no === out_trade_no);
  return { charged: rows.reduce((sum, row) => sum + row.charged, 0), refunded: rows.reduce((sum, row) => sum + row.refunded, 0), rows: rows.length };
}

/** A copy of `body` with the byte at `index` changed (low bit flipped). */
export function withOneByteChanged(body: Buffer, index: number): Buffer {
  expect(index).toBeGreaterThanOrEqual(0);
  expect(index).toBeLessThan(body.length);
  const changed = Buffer.from(body);
  changed[index] = (changed[index] ?? 0) ^ 1;
  expect(changed.equals(body)).toBe(false);
  return changed;
}

function resultOf(outcome: ChannelPaymentOutcome, what: string): Extract<ChannelPaymentOutcome, { kind: 'result' }> {
  if (outcome.kind !== 'result') throw new Error(`${what}: expected a result, got ${outcome.kind}: ${outcome.reason}`);
  return outcome;
}

// ---------------------------------------------------------------------------------------------
// The suite.

export function runConnectorContract(subject: ContractSubject): void {
  expect(subject.amount).toBeGreaterThanOrEqual(10n); // room for a partial refund and its rest
  expect(subject.currency).toMatch(/^[A-Z]{3}$/);

  describe(`connector contract: ${subject.name} against its sandbox`, () => {
    let started: StartedSubject;
    const expected = { amount: subject.amount, currency: subject.currency };

    const request = (out_trade_no: string, payment_method_data: Readonly<Record<string, string>> = subject.paymentMethodData): ChannelPaymentRequest => ({
      out_trade_no,
      amount: subject.amount,
      currency: subject.currency,
      method: subject.method,
      description: `Clearway contract ${out_trade_no}`,
      payment_method_data,
      metadata: { suite: 'connector_contract' },
    });

    /** Creates a payment and makes it succeed the way this channel's payer does; returns the query's result. */
    async function paySucceeded(out_trade_no: string): Promise<Extract<ChannelPaymentOutcome, { kind: 'result' }>> {
      const created = resultOf(await started.connector.createPayment(request(out_trade_no)), 'createPayment');
      if (subject.flow === 'payer_completes') {
        expect(created.status).toBe('requires_action');
        const payerCompletes = started.sandbox.payerCompletes;
        if (payerCompletes === undefined) throw new Error(`${subject.name}: a payer_completes subject needs sandbox.payerCompletes`);
        expect(await payerCompletes.call(started.sandbox, out_trade_no)).toEqual({ ok: true });
      } else {
        expect(created.status).toBe('succeeded');
      }
      return waitFor(
        async () => {
          const queried = await started.connector.queryPayment(out_trade_no, expected);
          return queried.kind === 'result' && queried.status === 'succeeded' ? queried : undefined;
        },
        `succeeded query for ${out_trade_no}`,
        contractSuiteLimits.settle_wait_ms_max,
      );
    }

    /** A refund, asked again under the same out_refund_no while the channel says pending. */
    async function refundSettled(refund: ChannelRefundRequest): Promise<ChannelRefundOutcome> {
      let last: ChannelRefundOutcome = await started.connector.refund(refund);
      if (last.kind === 'result' && last.status === 'pending') {
        last = await waitFor(
          async () => {
            const again = await started.connector.refund(refund);
            return again.kind === 'result' && again.status === 'pending' ? undefined : again;
          },
          `settled refund ${refund.out_refund_no}`,
          contractSuiteLimits.settle_wait_ms_max,
        );
      }
      return last;
    }

    /** The sandbox's notification that verifies as this payment's success. */
    function successNotificationFor(out_trade_no: string): { delivery: CapturedNotification; verdict: Extract<NotificationVerdict, { kind: 'verified' }> } | undefined {
      for (const delivery of started.notifications) {
        const verdict = started.connector.verifyNotification(delivery.body, delivery.headers);
        if (verdict.kind === 'verified' && verdict.notification.out_trade_no === out_trade_no && verdict.notification.status === 'succeeded') return { delivery, verdict };
      }
      return undefined;
    }

    beforeAll(async () => {
      started = await subject.start();
      expect(started.connector.methods).toContain(subject.method);
    });

    afterEach(() => started.sandbox.resetFaults());

    afterAll(async () => {
      await started?.stop();
    });

    it('1. createPayment answers with the request amount and currency, and the status this channel starts with', async () => {
      const out_trade_no = tradeNumber(1);
      const created = resultOf(await started.connector.createPayment(request(out_trade_no)), 'createPayment');
      expect(created.amount).toBe(subject.amount);
      expect(created.currency).toBe(subject.currency);
      expect(created.failure_code).toBeNull();
      if (subject.flow === 'immediate') {
        expect(created.status).toBe('succeeded');
        expect(created.next_action).toBeNull();
      } else {
        expect(created.status).toBe('requires_action');
        expect(created.next_action?.type).toMatch(/^(qr_code|redirect)$/);
        expect(created.next_action?.url).toMatch(/^[a-z][a-z0-9+.-]*:\/\/\S+$/);
        expect(chargedFor(started.sandbox, out_trade_no).charged).toBe(0); // nothing moves before the payer pays
      }
    });

    it('2. once the payer completes, queryPayment says succeeded with a channel_txn_id, and the ledger charged the amount exactly once', async () => {
      const out_trade_no = tradeNumber(2);
      const queried = await paySucceeded(out_trade_no);
      expect(queried).toMatchObject({ kind: 'result', status: 'succeeded', amount: subject.amount, currency: subject.currency, failure_code: null });
      expect(queried.channel_txn_id).toEqual(expect.any(String));
      expect(queried.channel_txn_id).not.toBe('');
      expect(chargedFor(started.sandbox, out_trade_no)).toEqual({ charged: Number(subject.amount), refunded: 0, rows: 1 });
      // Asked again, the channel says the same (the query moves no money).
      expect(await started.connector.queryPayment(out_trade_no, expected)).toEqual(queried);
      expect(chargedFor(started.sandbox, out_trade_no)).toEqual({ charged: Number(subject.amount), refunded: 0, rows: 1 });
    });

    it("3. the sandbox's notification verifies as this payment's success; the same body with one byte changed is rejected", async () => {
      const out_trade_no = tradeNumber(3);
      const queried = await paySucceeded(out_trade_no);
      const found = await waitFor(() => successNotificationFor(out_trade_no), `notification for ${out_trade_no}`, contractSuiteLimits.notification_wait_ms_max);
      expect(found.verdict.notification).toMatchObject({ out_trade_no, status: 'succeeded', amount: subject.amount, currency: subject.currency, channel_txn_id: queried.channel_txn_id });
      expect(found.verdict.notification.event_id).not.toBe('');
      const body = found.delivery.body;
      // Positions in the first half of the body: the last characters of a base64 signature can
      // carry padding bits a decoder ignores, which would make "one byte changed" change nothing.
      for (const index of [0, Math.floor(body.length / 4), Math.floor(body.length / 2)]) {
        const verdict = started.connector.verifyNotification(withOneByteChanged(body, index), found.delivery.headers);
        expect(verdict.kind, `byte ${index} of ${body.length} changed`).toBe('rejected');
      }
      // The genuine one still verifies (the checks above mutated copies only).
      expect(started.connector.verifyNotification(body, found.delivery.headers).kind).toBe('verified');
    });

    it('4. a partial refund then the rest both succeed, the ledger refunded the amount, and a refund beyond the captured amount does not succeed', async () => {
      const out_trade_no = tradeNumber(4);
      const paid = await paySucceeded(out_trade_no);
      const partialAmount = (subject.amount * 3n) / 10n;
      const restAmount = subject.amount - partialAmount;
      expect(partialAmount).toBeGreaterThan(0n);
      const base = { out_trade_no, channel_txn_id: paid.channel_txn_id, currency: subject.currency };

      const partial = await refundSettled({ ...base, out_refund_no: `${out_trade_no}_r1`, amount: partialAmount });
      expect(partial).toMatchObject({ kind: 'result', status: 'succeeded', amount: partialAmount, currency: subject.currency, failure_code: null });
      expect(chargedFor(started.sandbox, out_trade_no)).toEqual({ charged: Number(subject.amount), refunded: Number(partialAmount), rows: 1 });

      const beyond = await started.connector.refund({ ...base, out_refund_no: `${out_trade_no}_r2`, amount: restAmount + 1n });
      expect(beyond.kind === 'result' && beyond.status === 'succeeded', `beyond the captured amount: ${JSON.stringify(beyond, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`).toBe(false);
      expect(chargedFor(started.sandbox, out_trade_no).refunded).toBe(Number(partialAmount));

      const rest = await refundSettled({ ...base, out_refund_no: `${out_trade_no}_r3`, amount: restAmount });
      expect(rest).toMatchObject({ kind: 'result', status: 'succeeded', amount: restAmount, currency: subject.currency, failure_code: null });
      expect(chargedFor(started.sandbox, out_trade_no)).toEqual({ charged: Number(subject.amount), refunded: Number(subject.amount), rows: 1 });

      const more = await started.connector.refund({ ...base, out_refund_no: `${out_trade_no}_r4`, amount: 1n });
      expect(more.kind === 'result' && more.status === 'succeeded', 'a refund after the full amount was refunded').toBe(false);
      expect(chargedFor(started.sandbox, out_trade_no)).toEqual({ charged: Number(subject.amount), refunded: Number(subject.amount), rows: 1 });
    });

    const unknownTradeTitle =
      subject.unknownTradeQuery === 'failed_not_found'
        ? `5. queryPayment for a trade number never sent is failed with failure_code ${channelPaymentNotFound}`
        : '5. queryPayment for a trade number never sent is unknown';
    it(unknownTradeTitle, async () => {
      const out_trade_no = tradeNumber(5);
      const queried = await started.connector.queryPayment(out_trade_no, expected);
      if (subject.unknownTradeQuery === 'failed_not_found') {
        expect(queried).toMatchObject({ kind: 'result', status: 'failed', failure_code: channelPaymentNotFound, channel_txn_id: null });
      } else {
        expect(queried.kind).toBe('unknown');
      }
      expect(chargedFor(started.sandbox, out_trade_no).rows).toBe(0);
    });

    it('6. an injected channel error makes createPayment unknown with nothing charged; after resetFaults a new payment works', async () => {
      const failed = tradeNumber(6);
      started.sandbox.setFaults({ error_rate: 1 });
      const outcome = await started.connector.createPayment(request(failed));
      expect(outcome.kind).toBe('unknown');
      expect(chargedFor(started.sandbox, failed).charged).toBe(0);
      started.sandbox.resetFaults();
      // The error ran nothing at the channel: it has no payment under that number.
      expect(await started.connector.queryPayment(failed, expected)).toMatchObject({ kind: 'result', status: 'failed', failure_code: channelPaymentNotFound });
      expect(chargedFor(started.sandbox, failed).charged).toBe(0);
      const fresh = tradeNumber(6);
      const queried = await paySucceeded(fresh);
      expect(queried).toMatchObject({ kind: 'result', status: 'succeeded', amount: subject.amount, currency: subject.currency });
      expect(chargedFor(started.sandbox, fresh)).toEqual({ charged: Number(subject.amount), refunded: 0, rows: 1 });
    });

    it('7. a connector pointed at a closed port says not_sent', async () => {
      const port = await closedLoopbackPort();
      const unreachable = started.connectorAt(`http://127.0.0.1:${port}`);
      const out_trade_no = tradeNumber(7);
      const outcome = await unreachable.createPayment(request(out_trade_no));
      expect(outcome.kind).toBe('not_sent');
      expect(chargedFor(started.sandbox, out_trade_no).rows).toBe(0);
    });

    it(`8. during an outage createPayment is ${subject.outageOutcome} and nothing is charged`, async () => {
      const out_trade_no = tradeNumber(8);
      started.sandbox.setFaults({ outage: true });
      const outcome = await started.connector.createPayment(request(out_trade_no));
      expect(outcome.kind).toBe(subject.outageOutcome);
      expect(chargedFor(started.sandbox, out_trade_no).charged).toBe(0);
      started.sandbox.resetFaults();
      expect(chargedFor(started.sandbox, out_trade_no).charged).toBe(0);
    });

    const declineData = subject.declineData;
    if (declineData === undefined) {
      it.skip(`9. synchronous decline: not applicable to ${subject.name} (the payer declines in their own app; an unpaid QR payment just stays requires_action)`, () => {});
    } else {
      it('9. a synchronous decline is failed with a failure code, and nothing is charged', async () => {
        const out_trade_no = tradeNumber(9);
        const declined = resultOf(await started.connector.createPayment(request(out_trade_no, declineData)), 'createPayment (decline)');
        expect(declined).toMatchObject({ status: 'failed', amount: subject.amount, currency: subject.currency, next_action: null });
        expect(declined.failure_code).toEqual(expect.any(String));
        expect(chargedFor(started.sandbox, out_trade_no).charged).toBe(0);
        expect(await started.connector.queryPayment(out_trade_no, expected)).toMatchObject({ kind: 'result', status: 'failed', failure_code: declined.failure_code });
        expect(chargedFor(started.sandbox, out_trade_no).charged).toBe(0);
      });
    }
  });
}
