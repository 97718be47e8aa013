// The bank's reading of an uploaded payment file: an ISO 20022 pain.001-like XML document
// (CstmrCdtTrfInitn: a group header with MsgId, NbOfTxs and CtrlSum, then credit transfer
// transactions with EndToEndId, InstdAmt and Ccy, creditor name, account, agent and remittance
// information). Only the elements the sandbox needs are read; the group header's control totals
// are checked, as banks do, and a file that fails them is refused whole.
import { currencyExponent, isSupportedCurrency } from '../../src/kernel/currency.ts';
import { fromMajorUnitString } from '../../src/kernel/money.ts';

export interface FileTransaction {
  readonly end_to_end_id: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly creditor_name: string;
  readonly account_number: string;
  readonly bank_code: string;
  readonly remittance_information: string;
}

export type PaymentFile = { readonly ok: true; readonly message_id: string; readonly transactions: readonly FileTransaction[] } | { readonly ok: false; readonly reason: string };

const transactionsMax = 10_000;

function unescape(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/** The text of the first leaf element at `path` (each tag somewhere inside the one before), or null. */
function textAt(xml: string, path: readonly string[]): string | null {
  const leaf = path[path.length - 1]!;
  const opens = path.map((tag) => `<${tag}(?:\\s[^>]*)?>`).join('[\\s\\S]*?');
  const match = new RegExp(`${opens}([^<]*)</${leaf}>`).exec(xml);
  return match === null ? null : unescape(match[1]!.trim());
}

/** Scaled to thousandths, so control sums over currencies of exponent 0, 2 and 3 add exactly. */
function thousandths(amount: bigint, currency: string): bigint {
  return amount * 10n ** BigInt(3 - (currencyExponent(currency) ?? 2));
}

export function readPaymentFile(xml: string): PaymentFile {
  if (!xml.includes('<CstmrCdtTrfInitn>')) return { ok: false, reason: 'not a pain.001 document (no CstmrCdtTrfInitn)' };
  const messageId = textAt(xml, ['GrpHdr', 'MsgId']);
  const count = textAt(xml, ['GrpHdr', 'NbOfTxs']);
  const controlSum = textAt(xml, ['GrpHdr', 'CtrlSum']);
  if (messageId === null || !/^[A-Za-z0-9_-]{1,35}$/.test(messageId)) return { ok: false, reason: 'GrpHdr/MsgId missing or malformed' };
  const blocks = xml.match(/<CdtTrfTxInf>[\s\S]*?<\/CdtTrfTxInf>/g) ?? [];
  if (blocks.length === 0 || blocks.length > transactionsMax) return { ok: false, reason: `1..${transactionsMax} CdtTrfTxInf expected` };
  const transactions: FileTransaction[] = [];
  let sum = 0n;
  for (const block of blocks) {
    const amountMatch = /<InstdAmt Ccy="([A-Z]{3})">([^<]+)<\/InstdAmt>/.exec(block);
    if (amountMatch === null || !isSupportedCurrency(amountMatch[1]!)) return { ok: false, reason: 'InstdAmt with a supported Ccy expected' };
    const currency = amountMatch[1]!;
    const amount = fromMajorUnitString(amountMatch[2]!, currency);
    if (amount === undefined || amount.amount <= 0n) return { ok: false, reason: `bad InstdAmt ${amountMatch[2]}` };
    const fields = {
      end_to_end_id: textAt(block, ['PmtId', 'EndToEndId']),
      creditor_name: textAt(block, ['Cdtr', 'Nm']),
      account_number: textAt(block, ['CdtrAcct', 'Id', 'Othr', 'Id']),
      bank_code: textAt(block, ['CdtrAgt', 'FinInstnId', 'Othr', 'Id']),
      remittance_information: textAt(block, ['RmtInf', 'Ustrd']) ?? '',
    };
    for (const [name, value] of Object.entries(fields)) if (value === null || value.length > 140) return { ok: false, reason: `${name} missing` };
    if (!/^[A-Za-z0-9_-]{1,35}$/.test(fields.end_to_end_id!)) return { ok: false, reason: 'EndToEndId malformed' };
    transactions.push({ ...(fields as Omit<FileTransaction, 'amount' | 'currency'>), amount: amount.amount, currency });
    sum += thousandths(amount.amount, currency);
  }
  if (count !== String(transactions.length)) return { ok: false, reason: `NbOfTxs ${count} but ${transactions.length} transactions` };
  if (controlSum === null || !/^\d+(\.\d{1,3})?$/.test(controlSum)) return { ok: false, reason: 'CtrlSum missing or malformed' };
  const [whole, decimals = ''] = controlSum.split('.');
  if (BigInt(whole! + decimals.padEnd(3, '0')) !== sum) return { ok: false, reason: `CtrlSum ${controlSum} is not the sum of the transactions` };
  return { ok: true, message_id: messageId, transactions };
}
