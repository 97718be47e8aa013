// Each bank connector against its sandbox, over real HTTP on loopback: the happy path, the
// test accounts that refuse and return, the same key under transient faults paying once,
// cancel tombstones, signed notifications (forged ones refused), and the file bank's files.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../src/kernel/clock.ts';
import { createBankApiSandbox } from '../../sandbox/bank-api/index.ts';
import { createBankFileSandbox, readPaymentFile } from '../../sandbox/bank-file/index.ts';
import { testAccounts, type BankSandbox } from '../../sandbox/shared/bank.ts';
import { createBankApiConnector } from '../../src/payouts/banks/bank-api/http.ts';
import { createBankFileConnector } from '../../src/payouts/banks/bank-file/http.ts';
import { paymentFile } from '../../src/payouts/banks/bank-file/transformers.ts';
import type { BankResult, PayoutBankConnector, PayoutInstruction } from '../../src/payouts/banks/contract.ts';

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close();
});

function instruction(accountNumber = 'DE1234567890', amount = 12_34n, currency = 'EUR'): PayoutInstruction {
  return { attemptId: `poa_${randomBytes(12).toString('hex').slice(0, 24)}`, payoutId: 'po_test', amount, currency, account: { holder_name: 'Acme & Söhne <GmbH>', account_number: accountNumber, bank_code: 'DEUTDEFF' }, createdAt: new Date('2026-01-05T10:00:00Z') };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function apiBank(): Promise<{ sandbox: BankSandbox; connector: PayoutBankConnector }> {
  const sandbox = createBankApiSandbox({ executionDelayMs: 20, returnDelayMs: 60, timeoutHoldMs: 1_000 });
  await sandbox.listen(0);
  const c = sandbox.credentials();
  const connector = createBankApiConnector({ bank: 'bank_api', baseUrl: c.base_url, apiKey: c.api_key!, webhookSecret: c.webhook_secret!, timeoutMs: 300, clock: systemClock });
  opened.push(sandbox, connector);
  return { sandbox, connector };
}

async function fileBank(): Promise<{ sandbox: BankSandbox; connector: PayoutBankConnector }> {
  const sandbox = createBankFileSandbox({ processingDelayMs: 20, returnDelayMs: 60, statusFileIntervalMs: 20, timeoutHoldMs: 1_000 });
  await sandbox.listen(0);
  const c = sandbox.credentials();
  const connector = createBankFileConnector({ bank: 'bank_file', baseUrl: c.base_url, username: c.username!, password: c.password!, timeoutMs: 300 });
  opened.push(sandbox, connector);
  return { sandbox, connector };
}

describe('bank_api connector against its sandbox', () => {
  it('submits a transfer, which the bank executes; the same key again pays nothing more', async () => {
    const { sandbox, connector } = await apiBank();
    const order = instruction();
    expect(await connector.submit(order)).toMatchObject({ kind: 'result', status: 'accepted', amount: 1234n, currency: 'EUR', attemptId: order.attemptId });
    await sleep(60);
    expect(await connector.query!(order)).toMatchObject({ kind: 'result', status: 'paid' });
    expect(await connector.submit(order)).toMatchObject({ kind: 'result', status: 'accepted' }); // the first answer, replayed
    expect(sandbox.ledger()).toEqual([{ reference: 'po_test', end_to_end_id: order.attemptId, currency: 'EUR', paid: 1234, returned: 0 }]);
  });

  it('answers a refused account with a definite rejection, and a returned one with a return later', async () => {
    const { sandbox, connector } = await apiBank();
    const refused = instruction(testAccounts.rejected_by_bank_api);
    expect(await connector.submit(refused)).toMatchObject({ kind: 'result', status: 'rejected', reason: 'account_closed' });
    const bounced = instruction(testAccounts.returned, 500n);
    await connector.submit(bounced);
    await sleep(200);
    expect(await connector.query!(bounced)).toMatchObject({ kind: 'result', status: 'returned', reason: 'account_closed' });
    expect(sandbox.ledger()).toEqual([{ reference: 'po_test', end_to_end_id: bounced.attemptId, currency: 'EUR', paid: 500, returned: 500 }]);
  });

  it('under errors and timeouts, sending again with the same key pays once', async () => {
    const { sandbox, connector } = await apiBank();
    const order = instruction('DE1111111111', 777n);
    // The first send certainly times out (the bank may or may not have acted on it); the rest face random faults.
    sandbox.setFaults({ timeout_rate: 1 });
    const outcomes: string[] = [(await connector.submit(order)).kind];
    sandbox.setFaults({ error_rate: 0.4, timeout_rate: 0.4 });
    for (let send = 0; send < 40; send++) {
      const outcome = await connector.submit(order);
      outcomes.push(outcome.kind);
      if (outcome.kind === 'result') break;
    }
    expect(outcomes).toContain('unknown');
    expect(outcomes.at(-1)).toBe('result');
    sandbox.resetFaults();
    await sleep(60);
    expect(sandbox.ledger().filter((row) => row.end_to_end_id === order.attemptId)).toEqual([{ reference: 'po_test', end_to_end_id: order.attemptId, currency: 'EUR', paid: 777, returned: 0 }]);
  });

  it('a cancel of a key the bank never saw leaves a tombstone: the late request pays nothing', async () => {
    const { sandbox, connector } = await apiBank();
    const order = instruction();
    expect(await connector.cancel!(order)).toEqual({ kind: 'canceled' });
    expect(await connector.submit(order)).toMatchObject({ kind: 'unknown' }); // the bank answers with the canceled tombstone
    await sleep(60);
    expect(sandbox.ledger()).toEqual([]);
    sandbox.setFaults({ outage: true });
    expect(await connector.submit(instruction())).toMatchObject({ kind: 'unknown', reason: 'http 503' });
  });

  it('verifies notifications: the real one is read, a forged or altered one refused', async () => {
    const { sandbox, connector } = await apiBank();
    const received: { body: Buffer; headers: Record<string, string | string[] | undefined> }[] = [];
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => {
        received.push({ body: Buffer.concat(chunks), headers: request.headers });
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    opened.push({ close: () => new Promise((resolve) => server.close(resolve)) });
    sandbox.setWebhookUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/notify/bank/bank_api`);
    const order = instruction();
    await connector.submit(order);
    for (let i = 0; i < 100 && received.length === 0; i++) await sleep(10);
    const first = received[0]!;
    const verdict = connector.verifyNotification!(first.body, first.headers);
    expect(verdict).toMatchObject({ kind: 'verified', update: { status: 'paid', attemptId: order.attemptId, amount: 1234n } });
    const altered = Buffer.from(first.body.toString('utf8').replace('"12.34"', '"99.99"'));
    expect(connector.verifyNotification!(altered, first.headers)).toEqual({ kind: 'rejected', reason: 'signature mismatch' });
    expect(connector.verifyNotification!(first.body, { 'bank-signature': `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}` })).toEqual({ kind: 'rejected', reason: 'signature mismatch' });
    expect(connector.verifyNotification!(first.body, {})).toEqual({ kind: 'rejected', reason: 'no Bank-Signature header' });
  });
});

describe('bank_file connector against its sandbox', () => {
  const collect = async (connector: PayoutBankConnector, cursor: string, wanted: number): Promise<{ updates: BankResult[]; cursor: string }> => {
    const updates: BankResult[] = [];
    for (let i = 0; i < 100 && updates.length < wanted; i++) {
      await sleep(15);
      const poll = await connector.pollStatus!(cursor);
      if (poll.kind !== 'files') continue;
      updates.push(...poll.updates);
      cursor = poll.cursor;
    }
    return { updates, cursor };
  };

  it('writes a pain.001 file the bank reads back exactly (escaping, amounts, control sum)', () => {
    const order = instruction('DE1234567890', 100_005n, 'JPY');
    const read = readPaymentFile(paymentFile(order, 'Clearway payouts'));
    expect(read).toEqual({ ok: true, message_id: order.attemptId, transactions: [{ end_to_end_id: order.attemptId, amount: 100_005n, currency: 'JPY', creditor_name: 'Acme & Söhne <GmbH>', account_number: 'DE1234567890', bank_code: 'DEUTDEFF', remittance_information: 'po_test' }] });
    expect(readPaymentFile(paymentFile(order, 'x').replace('<CtrlSum>100005</CtrlSum>', '<CtrlSum>100004</CtrlSum>'))).toMatchObject({ ok: false });
  });

  it('uploads a file, re-uploads it after a timeout without paying twice, and reads paid, rejected and returned from the status files', async () => {
    const { sandbox, connector } = await fileBank();
    const paid = instruction('DE2222222222', 1_000n);
    const refused = instruction(testAccounts.rejected_by_bank_file, 2_000n);
    const bounced = instruction(testAccounts.returned, 3_000n);
    sandbox.setFaults({ timeout_rate: 1 });
    expect(await connector.submit(paid)).toMatchObject({ kind: 'unknown' });
    sandbox.resetFaults();
    expect(await connector.submit(paid)).toMatchObject({ kind: 'result', status: 'accepted' }); // 200: already received
    expect(await connector.submit(refused)).toMatchObject({ kind: 'result', status: 'accepted' });
    expect(await connector.submit(bounced)).toMatchObject({ kind: 'result', status: 'accepted' });
    const { updates, cursor } = await collect(connector, '', 4);
    const byAttempt = (id: string) => updates.filter((u) => u.attemptId === id).map((u) => [u.status, u.reason]);
    expect(byAttempt(paid.attemptId)).toEqual([['paid', null]]);
    expect(byAttempt(refused.attemptId)).toEqual([['rejected', 'AC01']]);
    expect(byAttempt(bounced.attemptId)).toEqual([['paid', null], ['returned', 'MD07']]);
    expect(cursor).toMatch(/^pain002_\d{8}\.csv$/);
    expect(await connector.pollStatus!(cursor)).toEqual({ kind: 'files', cursor, updates: [] });
    expect(sandbox.ledger().map((r) => [r.end_to_end_id, r.paid, r.returned]).sort()).toEqual([[paid.attemptId, 1_000, 0], [bounced.attemptId, 3_000, 3_000]].sort());
  });

  it('an outage or injected error is transient; the upload is never lost or doubled', async () => {
    const { sandbox, connector } = await fileBank();
    const order = instruction('DE3333333333', 4_200n);
    sandbox.setFaults({ outage: true });
    expect(await connector.submit(order)).toEqual({ kind: 'unknown', reason: 'http 503' });
    sandbox.setFaults({ outage: false, error_rate: 1 });
    expect(await connector.submit(order)).toEqual({ kind: 'unknown', reason: 'http 500' });
    sandbox.resetFaults();
    expect(await connector.submit(order)).toMatchObject({ kind: 'result', status: 'accepted' });
    expect(await connector.submit(order)).toMatchObject({ kind: 'result', status: 'accepted' });
    await collect(connector, '', 1);
    expect(sandbox.ledger()).toEqual([{ reference: 'po_test', end_to_end_id: order.attemptId, currency: 'EUR', paid: 4_200, returned: 0 }]);
  });
});
