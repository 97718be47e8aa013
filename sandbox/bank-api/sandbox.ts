// A simulated bank with a JSON payments API (the shape of the credit-transfer APIs of modern
// banks): Bearer API key; POST /v1/credit-transfers with an Idempotency-Key header; GET a
// transfer by our end-to-end id; POST .../cancel; status webhooks signed with
//   Bank-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(webhook secret, "<t>.<raw body>")>
// Lifecycle: pending -> executed (paid, execution_delay_ms later) | rejected (at once, for a
// refused account) | canceled (a cancel before execution; a cancel of an unknown id leaves a
// tombstone so the transfer can never run later); executed -> returned (return_delay_ms later,
// for the returned test account or by the return_rate fault). Amounts are decimal strings in
// major units ("12.34"). See sandbox/shared/bank.ts for faults, books and test accounts.
import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { systemClock, type Clock } from '../../src/kernel/clock.ts';
import { fromMajorUnitString, money, toMajorUnitString } from '../../src/kernel/money.ts';
import { isSupportedCurrency } from '../../src/kernel/currency.ts';
import { createSandboxLifecycle } from '../shared/lifecycle.ts';
import { NotificationSender } from '../shared/notification-sender.ts';
import { BankBook, BankFaultState, bankAnswerHeld, bankRequestGate, bankSandboxLimits, Holds, refusedBy, testAccounts, type BankFaults, type BankSandbox } from '../shared/bank.ts';

export interface BankApiSandboxOptions {
  readonly bank?: string;
  readonly apiKey?: string;
  readonly webhookSecret?: string;
  readonly clock?: Clock;
  readonly random?: () => number;
  /** A pending transfer executes this long after it was created (default 50 ms). */
  readonly executionDelayMs?: number;
  /** An executed transfer that will bounce is returned this long after (default 300 ms). */
  readonly returnDelayMs?: number;
  /** How long the timeout fault holds an answer back (default 30 s; close() cuts it short). */
  readonly timeoutHoldMs?: number;
}

type TransferStatus = 'pending' | 'executed' | 'rejected' | 'returned' | 'canceled';

interface Transfer {
  readonly id: string;
  readonly end_to_end_id: string;
  status: TransferStatus;
  readonly amount: bigint;
  readonly currency: string;
  readonly creditor: { readonly name: string; readonly account_number: string; readonly bank_code: string };
  readonly remittance_information: string;
  rejection_reason: string | null;
  return_reason: string | null;
  readonly created_at: string;
}

const idPattern = /^[A-Za-z0-9_-]{1,64}$/;

function render(t: Transfer): Record<string, unknown> {
  return {
    id: t.id, object: 'credit_transfer', end_to_end_id: t.end_to_end_id, status: t.status,
    amount: t.status === 'canceled' && t.amount === 0n ? null : toMajorUnitString(money(t.amount, t.currency)),
    currency: t.currency, creditor: t.creditor, remittance_information: t.remittance_information,
    rejection_reason: t.rejection_reason, return_reason: t.return_reason, created_at: t.created_at,
  };
}

type Parsed = { ok: true; value: Omit<Transfer, 'id' | 'status' | 'rejection_reason' | 'return_reason' | 'created_at'> } | { ok: false; param: string };

function parseTransferRequest(body: unknown): Parsed {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const creditor = (typeof b.creditor === 'object' && b.creditor !== null ? b.creditor : {}) as Record<string, unknown>;
  if (typeof b.end_to_end_id !== 'string' || !idPattern.test(b.end_to_end_id)) return { ok: false, param: 'end_to_end_id' };
  if (typeof b.currency !== 'string' || !isSupportedCurrency(b.currency)) return { ok: false, param: 'currency' };
  const amount = typeof b.amount === 'string' ? fromMajorUnitString(b.amount, b.currency) : undefined;
  if (amount === undefined || amount.amount <= 0n) return { ok: false, param: 'amount' };
  for (const field of ['name', 'account_number', 'bank_code'] as const) {
    const value = creditor[field];
    if (typeof value !== 'string' || value.length < 1 || value.length > 70) return { ok: false, param: `creditor.${field}` };
  }
  if (typeof b.remittance_information !== 'string' || b.remittance_information.length > 140) return { ok: false, param: 'remittance_information' };
  return {
    ok: true,
    value: {
      end_to_end_id: b.end_to_end_id, amount: amount.amount, currency: b.currency, remittance_information: b.remittance_information,
      creditor: { name: creditor.name as string, account_number: creditor.account_number as string, bank_code: creditor.bank_code as string },
    },
  };
}

export function bankSignatureHeader(payload: string, secret: string, timestampSeconds: number): string {
  return `t=${timestampSeconds},v1=${createHmac('sha256', secret).update(`${timestampSeconds}.${payload}`, 'utf8').digest('hex')}`;
}

export function createBankApiSandbox(options: BankApiSandboxOptions = {}): BankSandbox {
  const bank = options.bank ?? 'bank_api';
  const apiKey = options.apiKey ?? `bk_test_${randomBytes(16).toString('hex')}`;
  const webhookSecret = options.webhookSecret ?? `bwhsec_${randomBytes(16).toString('hex')}`;
  const clock = options.clock ?? systemClock;
  const executionDelayMs = options.executionDelayMs ?? 50;
  const returnDelayMs = options.returnDelayMs ?? 300;
  const timeoutHoldMs = options.timeoutHoldMs ?? 30_000;
  const faults = new BankFaultState(options.random ?? Math.random);
  const holds = new Holds();
  const book = new BankBook();
  const transfers = new Map<string, Transfer>();
  const answers = new Map<string, { fingerprint: string; status: number; body: unknown }>();
  let webhookUrl: string | null = null;
  const sender = new NotificationSender({
    limits: {
      deliveries_max: bankSandboxLimits.notification_deliveries_max, attempts_max: bankSandboxLimits.notification_attempts_max,
      attempt_timeout_ms: bankSandboxLimits.notification_timeout_ms, sockets_max: 16, idle_socket_ms: 4_000, backoff_ms_max: 5_000,
    },
    backoff_base_ms: 100,
    content_type: 'application/json',
    user_agent: 'SandboxBank-Webhooks/1.0',
    sign: (payload) => ({ 'bank-signature': bankSignatureHeader(payload, webhookSecret, Math.floor(clock.now().getTime() / 1000)) }),
    accept: '2xx',
  });
  const lifecycle = createSandboxLifecycle({ routes, bodyLimit: bankSandboxLimits.request_body_bytes_max, return503OnClosing: true, holds, outbound: sender });

  function notify(type: string, transfer: Transfer): void {
    const payload = JSON.stringify({ id: `evt_${randomBytes(12).toString('hex')}`, type, created_at: clock.now().toISOString(), data: render(transfer) });
    sender.send(() => webhookUrl, payload);
  }

  function execute(transfer: Transfer): void {
    if (transfer.status !== 'pending') return; // canceled meanwhile
    transfer.status = 'executed';
    book.pay(transfer.end_to_end_id, transfer.remittance_information, transfer.amount, transfer.currency);
    notify('credit_transfer.executed', transfer);
    if (transfer.creditor.account_number === testAccounts.returned || faults.roll('return_rate')) {
      lifecycle.later(returnDelayMs, () => {
        transfer.status = 'returned';
        transfer.return_reason = 'account_closed';
        book.giveBack(transfer.end_to_end_id, transfer.amount);
        notify('credit_transfer.returned', transfer);
      });
    }
  }

  function create(body: unknown): { status: number; body: unknown } {
    const parsed = parseTransferRequest(body);
    if (!parsed.ok) return { status: 400, body: { error: { code: 'parameter_invalid', param: parsed.param, message: `Invalid ${parsed.param}.` } } };
    const existing = transfers.get(parsed.value.end_to_end_id);
    if (existing !== undefined) return { status: 200, body: render(existing) }; // the end-to-end id is unique at the bank
    if (transfers.size >= bankSandboxLimits.transfers_max) return { status: 507, body: { error: { code: 'capacity', message: 'Sandbox full.' } } };
    const refused = refusedBy('bank_api', parsed.value.creditor.account_number);
    const transfer: Transfer = {
      ...parsed.value, id: `ct_${randomBytes(12).toString('hex')}`, status: refused ? 'rejected' : 'pending',
      rejection_reason: refused ? 'account_closed' : null, return_reason: null, created_at: clock.now().toISOString(),
    };
    transfers.set(transfer.end_to_end_id, transfer);
    if (refused) notify('credit_transfer.rejected', transfer);
    else lifecycle.later(executionDelayMs, () => execute(transfer));
    return { status: 201, body: render(transfer) };
  }

  function cancel(endToEndId: string): { status: number; body: unknown } {
    const transfer = transfers.get(endToEndId);
    if (transfer === undefined) {
      // A tombstone: a create with this id arriving later (a request still in flight) finds it canceled.
      const tombstone: Transfer = {
        id: `ct_${randomBytes(12).toString('hex')}`, end_to_end_id: endToEndId, status: 'canceled', amount: 0n, currency: 'EUR',
        creditor: { name: '-', account_number: '-', bank_code: '-' }, remittance_information: '', rejection_reason: 'canceled_by_sender', return_reason: null, created_at: clock.now().toISOString(),
      };
      transfers.set(endToEndId, tombstone);
      return { status: 200, body: render(tombstone) };
    }
    if (transfer.status === 'pending') {
      transfer.status = 'canceled';
      transfer.rejection_reason = 'canceled_by_sender';
    }
    if (transfer.status === 'executed' || transfer.status === 'returned') return { status: 409, body: { error: { code: 'transfer_already_executed', message: 'The transfer was executed.' }, transfer: render(transfer) } };
    return { status: 200, body: render(transfer) };
  }

  async function guarded(request: FastifyRequest, reply: FastifyReply, run: () => { status: number; body: unknown }): Promise<FastifyReply> {
    const gate = await bankRequestGate(faults, holds, () => request.headers.authorization === `Bearer ${apiKey}`, reply);
    if (gate === 'answered') return reply;
    const result = run();
    if (await bankAnswerHeld(faults, holds, timeoutHoldMs)) return reply.code(503).send({ error: { code: 'closing' } });
    return reply.code(result.status).send(result.body);
  }

  async function routes(scoped: FastifyInstance): Promise<void> {
    scoped.post('/v1/credit-transfers', (request, reply) =>
      guarded(request, reply, () => {
        const key = request.headers['idempotency-key'];
        if (typeof key !== 'string' || !idPattern.test(key)) return { status: 400, body: { error: { code: 'idempotency_key_missing', message: 'Idempotency-Key (1..64 of A-Z a-z 0-9 _ -) is required.' } } };
        const fingerprint = JSON.stringify(request.body);
        const saved = answers.get(key);
        if (saved !== undefined) return saved.fingerprint === fingerprint ? saved : { status: 422, body: { error: { code: 'idempotency_key_reused', message: 'This Idempotency-Key was used with another request.' } } };
        const result = create(request.body);
        if (result.status < 500) answers.set(key, { fingerprint, ...result });
        return result;
      }),
    );
    scoped.get<{ Params: { id: string } }>('/v1/credit-transfers/:id', (request, reply) =>
      guarded(request, reply, () => {
        const transfer = transfers.get(request.params.id);
        return transfer === undefined ? { status: 404, body: { error: { code: 'resource_missing', message: `No transfer ${request.params.id}.` } } } : { status: 200, body: render(transfer) };
      }),
    );
    scoped.post<{ Params: { id: string } }>('/v1/credit-transfers/:id/cancel', (request, reply) =>
      guarded(request, reply, () => (idPattern.test(request.params.id) ? cancel(request.params.id) : { status: 400, body: { error: { code: 'parameter_invalid', param: 'id' } } })),
    );
  }

  return {
    bank,
    register: (app, prefix) => lifecycle.register(app, prefix),
    listen: (port) => lifecycle.listen(port),
    close: () => lifecycle.close(),
    credentials: () => ({ base_url: lifecycle.baseUrl(), api_key: apiKey, webhook_secret: webhookSecret }),
    setFaults: (patch: Partial<BankFaults>) => faults.set(patch),
    resetFaults: () => faults.reset(),
    faults: () => faults.get(),
    ledger: () => book.ledger(),
    setWebhookUrl: (url) => {
      webhookUrl = url;
    },
  };
}
