// The one converter between Clearway amounts (bigint fen) and Alipay's wire amounts (yuan
// strings with at most two decimals, "12.34"). Alipay's trade APIs here take CNY only.
import { fromMajorUnitString, money, toMajorUnitString } from '../../kernel/money.ts';
import { alipayConnectorLimits } from './limits.ts';

export const alipayCurrency = 'CNY';

export type AlipayAmount =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly code: 'currency_not_supported' | 'amount_out_of_range'; readonly message: string };

/** fen -> "12.34". Refuses other currencies and amounts outside 0.01 .. 100,000,000.00 yuan. */
export function toYuanString(amount: bigint, currency: string): AlipayAmount {
  if (typeof amount !== 'bigint') throw new Error('toYuanString: amount must be a bigint');
  if (currency !== alipayCurrency) return { ok: false, code: 'currency_not_supported', message: `Alipay trades are in CNY, not ${currency}.` };
  if (amount <= 0n || amount > alipayConnectorLimits.amount_fen_max) {
    return { ok: false, code: 'amount_out_of_range', message: `Alipay takes 0.01 to 100000000.00 yuan, got ${amount} fen.` };
  }
  const value = toMajorUnitString(money(amount, currency));
  if (!/^\d+\.\d{2}$/.test(value)) throw new Error(`toYuanString: unexpected major unit string ${value}`);
  return { ok: true, value };
}

/** "12.34" -> 1234n, strictly (no sign, no exponent, at most two decimals); null when it is not one. */
export function fromYuanString(value: unknown): bigint | null {
  if (typeof value !== 'string' || !/^(0|[1-9]\d*)(\.\d{1,2})?$/.test(value)) return null;
  const parsed = fromMajorUnitString(value, alipayCurrency);
  if (parsed === undefined || parsed.amount < 0n) return null;
  return parsed.amount;
}
