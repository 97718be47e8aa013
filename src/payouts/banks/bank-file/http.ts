// The file-exchange bank connector: the HTTP mechanics of uploading a payment file and reading
// the status files; what they hold is in transformers.ts.
import type { BankOutcome, BankStatusPoll, PayoutBankConnector, PayoutInstruction } from '../contract.ts';
import { payoutLimits } from '../../limits.ts';
import { bankRequest, createBankHttp, serverFailure } from '../exchange.ts';
import { paymentFile, paymentFileName, readListing, readStatusFile } from './transformers.ts';
import type { BankResult } from '../contract.ts';

export interface BankFileConnectorOptions {
  readonly bank: string;
  readonly baseUrl: string;
  readonly username: string;
  readonly password: string;
  readonly timeoutMs: number;
  /** Our name as the debtor on the files. */
  readonly debtorName?: string;
}

export function createBankFileConnector(options: BankFileConnectorOptions): PayoutBankConnector {
  const http = createBankHttp(options.baseUrl, options.timeoutMs, 'createBankFileConnector');
  const headers = { authorization: `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}` };

  async function submit(instruction: PayoutInstruction): Promise<BankOutcome> {
    const name = paymentFileName(instruction.attemptId);
    const body = Buffer.from(paymentFile(instruction, options.debtorName ?? 'Clearway payouts'), 'utf8');
    const exchange = await bankRequest(http, 'PUT', `/inbox/${name}`, { ...headers, 'content-type': 'application/xml' }, body);
    if (exchange.kind !== 'response') return exchange;
    const accepted: BankResult = { kind: 'result', attemptId: instruction.attemptId, status: 'accepted', bankReference: name, amount: instruction.amount, currency: instruction.currency, reason: null };
    if (exchange.status === 201 || exchange.status === 200) return accepted; // 200: the same file was already received
    if (exchange.status === 422) return { ...accepted, status: 'rejected', reason: `file_rejected: ${exchange.raw.toString('utf8').slice(0, 200)}` };
    return serverFailure(exchange.status); // 5xx, 409 (another file under our name: a bug), 401: nothing certain
  }

  async function pollStatus(cursor: string): Promise<BankStatusPoll> {
    const listing = await bankRequest(http, 'GET', `/outbox?after=${encodeURIComponent(cursor)}`, headers, null);
    if (listing.kind !== 'response') return listing;
    if (listing.status !== 200) return serverFailure(listing.status);
    const names = readListing(listing.raw.toString('utf8'), cursor, payoutLimits.status_files_per_poll_max);
    const updates: BankResult[] = [];
    let last = cursor;
    for (const name of names) {
      const file = await bankRequest(http, 'GET', `/outbox/${name}`, headers, null);
      if (file.kind !== 'response' || file.status !== 200) break; // read the rest next time
      const read = readStatusFile(file.raw.toString('utf8'));
      if (!read.ok) break;
      updates.push(...read.updates);
      last = name;
    }
    return { kind: 'files', cursor: last, updates };
  }

  return { bank: options.bank, submit, pollStatus, close: () => http.close() };
}
