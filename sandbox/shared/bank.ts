// What the two bank sandboxes share (sandbox/bank-api, sandbox/bank-file): their fault switches
// (the payment sandboxes' faults plus return_rate), their own books (what each actually paid and
// got back, per payout reference: the ground truth for "each merchant paid exactly once"), the
// test account numbers that make a bank refuse or bounce a transfer, and the surface the
// platform drives them through.
import type { FastifyInstance } from 'fastify';
import { FaultModel, noFaultsOf, validateFaultPatch, type FaultPatchValidation, type FaultSpec } from './faults.ts';

/** What each bank fault does (the payment sandboxes' faults, ../stripe/faults.ts, plus return_rate). */
export interface BankFaults {
  /** Every request answers 503 before anything runs. */
  readonly outage: boolean;
  /** A 500 after auth WITHOUT running the request: a retry with the same key runs it afresh. */
  readonly error_rate: number;
  /** The request runs, then its answer is held back: the caller cannot tell what happened. */
  readonly timeout_rate: number;
  /** Added before every request runs. */
  readonly latency_ms: number;
  /** A paid transfer is returned by the receiving bank later (return_delay_ms). */
  readonly return_rate: number;
}

export const bankSandboxLimits = Object.freeze({
  latency_ms_max: 60_000,
  /** Transfers (and idempotent answers) kept; beyond it the sandbox refuses new ones (507). */
  transfers_max: 1_000_000,
  /** Status files kept by the file bank. */
  status_files_max: 100_000,
  request_body_bytes_max: 4 * 1024 * 1024,
  notification_deliveries_max: 10_000,
  notification_attempts_max: 6,
  notification_timeout_ms: 5_000,
});

export const bankFaultSpec = Object.freeze({
  outage: 'flag',
  error_rate: 'rate',
  timeout_rate: 'rate',
  latency_ms: { integer_max: bankSandboxLimits.latency_ms_max },
  return_rate: 'rate',
} as const satisfies FaultSpec);

export const noBankFaults: BankFaults = noFaultsOf(bankFaultSpec);

export type BankFaultsValidation = FaultPatchValidation<BankFaults>;

export function validateBankFaults(input: unknown): BankFaultsValidation {
  return validateFaultPatch(bankFaultSpec, input);
}

export class BankFaultState extends FaultModel<typeof bankFaultSpec> {
  constructor(random: () => number) {
    super(bankFaultSpec, random);
  }
}

/**
 * Test account numbers (like card test tokens): a transfer to one of these is refused by the
 * bank named, or paid and then returned. Any other account number is paid.
 */
export const testAccounts = Object.freeze({
  /** Refused by the JSON-API bank (account closed), paid by the file bank. */
  rejected_by_bank_api: '000111000',
  /** Refused by the file bank (AC01, incorrect account number), paid by the JSON-API bank. */
  rejected_by_bank_file: '000222000',
  /** Refused by both banks. */
  rejected_by_all: '000333000',
  /** Paid, then returned by the receiving bank (MD07 / account_closed). */
  returned: '000444000',
});

export function refusedBy(bank: 'bank_api' | 'bank_file', accountNumber: string): boolean {
  if (accountNumber === testAccounts.rejected_by_all) return true;
  return bank === 'bank_api' ? accountNumber === testAccounts.rejected_by_bank_api : accountNumber === testAccounts.rejected_by_bank_file;
}

export interface BankLedgerRow {
  /** The payout the transfer paid (the remittance information we sent). */
  readonly reference: string;
  /** Our end-to-end id (the attempt). */
  readonly end_to_end_id: string;
  readonly currency: string;
  /** Minor units the bank paid out and got back. */
  readonly paid: number;
  readonly returned: number;
}

/** The bank's own books: one row per end-to-end id that moved money. */
export class BankBook {
  private readonly rows = new Map<string, { reference: string; currency: string; paid: bigint; returned: bigint }>();

  pay(endToEndId: string, reference: string, amount: bigint, currency: string): void {
    const row = this.rows.get(endToEndId) ?? { reference, currency, paid: 0n, returned: 0n };
    row.paid += amount;
    this.rows.set(endToEndId, row);
  }

  giveBack(endToEndId: string, amount: bigint): void {
    const row = this.rows.get(endToEndId);
    if (row === undefined || row.returned + amount > row.paid) throw new Error(`assertion failed: bank book: return of ${endToEndId} beyond what was paid`);
    row.returned += amount;
  }

  ledger(): BankLedgerRow[] {
    return [...this.rows].map(([end_to_end_id, row]) => ({ reference: row.reference, end_to_end_id, currency: row.currency, paid: Number(row.paid), returned: Number(row.returned) }));
  }
}

/** What the platform drives a bank sandbox through (mount, own port, faults, books, notifications). */
export interface BankSandbox {
  readonly bank: string;
  register(app: FastifyInstance, prefix: string): Promise<void>;
  listen(port?: number): Promise<string>;
  close(): Promise<void>;
  credentials(): { readonly base_url: string } & Readonly<Record<string, string>>;
  setFaults(faults: Partial<BankFaults>): void;
  resetFaults(): void;
  faults(): BankFaults;
  ledger(): BankLedgerRow[];
  /** Where status notifications go (the JSON-API bank), or null. */
  setWebhookUrl(url: string | null): void;
}

/** Waits the timeout fault and latency use; close() cuts them short (the Stripe sandbox's). */
export { Holds } from '../stripe/holds.ts';

interface GateReply {
  code(status: number): { send(body: unknown): unknown };
}

/**
 * The fault gate every bank request passes before it runs, in this order: outage (503), latency,
 * authentication (401), injected error (500, nothing runs). 'go': run the request; otherwise the
 * answer was sent.
 */
export async function bankRequestGate(
  faults: BankFaultState,
  holds: { wait(ms: number): Promise<'elapsed' | 'closed'> },
  authorized: () => boolean,
  reply: GateReply,
): Promise<'go' | 'answered'> {
  if (faults.get().outage) return answered(reply, 503, { error: { code: 'service_unavailable', message: 'The bank is temporarily unavailable (sandbox outage).' } });
  if ((await holds.wait(faults.get().latency_ms)) === 'closed') return answered(reply, 503, { error: { code: 'closing', message: 'The sandbox is closing.' } });
  if (!authorized()) return answered(reply, 401, { error: { code: 'unauthorized', message: 'Missing or wrong credentials.' } });
  if (faults.roll('error_rate')) return answered(reply, 500, { error: { code: 'internal_error', message: 'Something went wrong (sandbox injected error; nothing was processed).' } });
  return 'go';
}

function answered(reply: GateReply, status: number, body: unknown): 'answered' {
  reply.code(status).send(body);
  return 'answered';
}

/** The timeout fault after a request ran: true when the answer must not be sent (held until close). */
export async function bankAnswerHeld(faults: BankFaultState, holds: { wait(ms: number): Promise<'elapsed' | 'closed'> }, holdMs: number): Promise<boolean> {
  return faults.roll('timeout_rate') && (await holds.wait(holdMs)) === 'closed';
}
