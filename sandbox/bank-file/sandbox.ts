// A simulated bank that exchanges files (the host-to-host channel of corporate banking): we
// upload a pain.001-like payment file, the bank processes it later and publishes status files
// we download.
//   PUT  /inbox/:filename     a payment file (XML). 201 stored; 200 the same name with the same
//                             bytes again (an upload retried after a timeout); 409 the same name
//                             with other bytes; 422 a file the bank cannot read (nothing runs).
//   GET  /outbox?after=NAME   the status files after NAME, one name a line, oldest first.
//   GET  /outbox/:filename    one status file, CSV:
//                             end_to_end_id,reference,status,amount,currency,reason_code,booked_at
//                             status ACSC (paid), RJCT (refused, reason AC01/AC04/...), RTRN
//                             (returned after it was paid, reason MD07/AC04).
// HTTP Basic authentication. An end-to-end id is executed at most once, whatever files repeat it.
// Faults as every sandbox (sandbox/shared/bank.ts); the timeout fault stores the upload and then
// holds the answer back.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { systemClock, type Clock } from '../../src/kernel/clock.ts';
import { money, toMajorUnitString } from '../../src/kernel/money.ts';
import { createSandboxLifecycle } from '../shared/lifecycle.ts';
import { BankBook, BankFaultState, bankAnswerHeld, bankRequestGate, bankSandboxLimits, Holds, refusedBy, testAccounts, type BankFaults, type BankSandbox } from '../shared/bank.ts';
import { readPaymentFile, type FileTransaction } from './pain001.ts';

export interface BankFileSandboxOptions {
  readonly bank?: string;
  readonly username?: string;
  readonly password?: string;
  readonly clock?: Clock;
  readonly random?: () => number;
  /** Transactions of an uploaded file are decided this long after the upload (default 50 ms). */
  readonly processingDelayMs?: number;
  /** A paid transaction that bounces is returned this long after (default 300 ms). */
  readonly returnDelayMs?: number;
  /** Status lines are gathered into one file this often (default 50 ms). */
  readonly statusFileIntervalMs?: number;
  readonly timeoutHoldMs?: number;
}

const fileNamePattern = /^[A-Za-z0-9_.-]{1,100}$/;
export const statusFileHeader = 'end_to_end_id,reference,status,amount,currency,reason_code,booked_at';

export function createBankFileSandbox(options: BankFileSandboxOptions = {}): BankSandbox {
  const bank = options.bank ?? 'bank_file';
  const username = options.username ?? 'clearway';
  const password = options.password ?? randomBytes(16).toString('hex');
  const clock = options.clock ?? systemClock;
  const processingDelayMs = options.processingDelayMs ?? 50;
  const returnDelayMs = options.returnDelayMs ?? 300;
  const statusFileIntervalMs = options.statusFileIntervalMs ?? 50;
  const timeoutHoldMs = options.timeoutHoldMs ?? 30_000;
  const faults = new BankFaultState(options.random ?? Math.random);
  const holds = new Holds();
  const book = new BankBook();
  const inbox = new Map<string, string>();
  const seen = new Set<string>(); // end-to-end ids taken
  const statusFiles = new Map<string, string>();
  let pendingLines: string[] = [];
  let flushScheduled = false;
  let fileSeq = 0;
  const expectedAuth = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  const lifecycle = createSandboxLifecycle({ routes, bodyLimit: bankSandboxLimits.request_body_bytes_max, return503OnClosing: true, holds, outbound: { close() {} } });

  function report(tx: FileTransaction, status: 'ACSC' | 'RJCT' | 'RTRN', reason: string): void {
    const amount = toMajorUnitString(money(tx.amount, tx.currency));
    pendingLines.push([tx.end_to_end_id, tx.remittance_information, status, amount, tx.currency, reason, clock.now().toISOString()].join(','));
    if (flushScheduled) return;
    flushScheduled = true;
    lifecycle.later(statusFileIntervalMs, () => {
      flushScheduled = false;
      if (pendingLines.length === 0 || statusFiles.size >= bankSandboxLimits.status_files_max) return;
      fileSeq += 1;
      statusFiles.set(`pain002_${String(fileSeq).padStart(8, '0')}.csv`, [statusFileHeader, ...pendingLines].join('\n') + '\n');
      pendingLines = [];
    });
  }

  function decide(tx: FileTransaction): void {
    if (refusedBy('bank_file', tx.account_number)) return report(tx, 'RJCT', 'AC01');
    book.pay(tx.end_to_end_id, tx.remittance_information, tx.amount, tx.currency);
    report(tx, 'ACSC', '');
    if (tx.account_number === testAccounts.returned || faults.roll('return_rate')) {
      lifecycle.later(returnDelayMs, () => {
        book.giveBack(tx.end_to_end_id, tx.amount);
        report(tx, 'RTRN', 'MD07');
      });
    }
  }

  function upload(name: string, body: unknown): { status: number; body: unknown } {
    if (!fileNamePattern.test(name)) return { status: 400, body: { error: { code: 'bad_file_name' } } };
    if (typeof body !== 'string' || body.length === 0) return { status: 400, body: { error: { code: 'empty_file' } } };
    const stored = inbox.get(name);
    if (stored !== undefined) return stored === body ? { status: 200, body: { file: name, status: 'already_received' } } : { status: 409, body: { error: { code: 'file_exists', message: `${name} exists with other content.` } } };
    const file = readPaymentFile(body);
    if (!file.ok) return { status: 422, body: { error: { code: 'file_rejected', message: file.reason } } };
    if (inbox.size >= bankSandboxLimits.transfers_max) return { status: 507, body: { error: { code: 'capacity' } } };
    inbox.set(name, body);
    for (const tx of file.transactions) {
      if (seen.has(tx.end_to_end_id)) continue; // a duplicate end-to-end id is never executed twice
      seen.add(tx.end_to_end_id);
      lifecycle.later(processingDelayMs, () => decide(tx));
    }
    return { status: 201, body: { file: name, status: 'received', transactions: file.transactions.length } };
  }

  async function guarded(request: FastifyRequest, reply: FastifyReply, run: () => { status: number; body: unknown; type?: string }): Promise<FastifyReply> {
    const gate = await bankRequestGate(faults, holds, () => request.headers.authorization === expectedAuth, reply);
    if (gate === 'answered') return reply;
    const result = run();
    if (await bankAnswerHeld(faults, holds, timeoutHoldMs)) return reply.code(503).send({ error: { code: 'closing' } });
    if (result.type !== undefined) reply.type(result.type);
    return reply.code(result.status).send(result.body);
  }

  async function routes(scoped: FastifyInstance): Promise<void> {
    scoped.addContentTypeParser(['application/xml', 'text/xml'], { parseAs: 'string', bodyLimit: bankSandboxLimits.request_body_bytes_max }, (_request, body, done) => done(null, body));
    scoped.put<{ Params: { name: string } }>('/inbox/:name', (request, reply) => guarded(request, reply, () => upload(request.params.name, request.body)));
    scoped.get<{ Querystring: { after?: string } }>('/outbox', (request, reply) =>
      guarded(request, reply, () => {
        const after = typeof request.query.after === 'string' ? request.query.after : '';
        const names = [...statusFiles.keys()].filter((name) => name > after).sort();
        return { status: 200, body: names.map((name) => `${name}\n`).join(''), type: 'text/plain; charset=utf-8' };
      }),
    );
    scoped.get<{ Params: { name: string } }>('/outbox/:name', (request, reply) =>
      guarded(request, reply, () => {
        const file = statusFiles.get(request.params.name);
        return file === undefined ? { status: 404, body: { error: { code: 'no_such_file' } } } : { status: 200, body: file, type: 'text/csv; charset=utf-8' };
      }),
    );
  }

  return {
    bank,
    register: (app, prefix) => lifecycle.register(app, prefix),
    listen: (port) => lifecycle.listen(port),
    close: () => lifecycle.close(),
    credentials: () => ({ base_url: lifecycle.baseUrl(), username, password }),
    setFaults: (patch: Partial<BankFaults>) => faults.set(patch),
    resetFaults: () => faults.reset(),
    faults: () => faults.get(),
    ledger: () => book.ledger(),
    setWebhookUrl: () => {
      // A file-exchange bank sends no notifications: its news are in the status files.
    },
  };
}
