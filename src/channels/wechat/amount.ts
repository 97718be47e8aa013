// The one converter between Clearway amounts (bigint minor units) and WeChat Pay's wire amounts:
// an integer number of fen (CNY minor units, ISO exponent 2, so the two units coincide).
// WeChat Pay (domestic merchants) takes CNY only; any other currency is refused before sending.

export const wechatCurrency = 'CNY';

export type WechatAmount =
  | { readonly ok: true; readonly fen: number }
  | { readonly ok: false; readonly code: 'currency_not_supported' | 'amount_not_representable'; readonly message: string };

export function toWechatAmount(amount: bigint, currency: string): WechatAmount {
  if (!/^[A-Z]{3}$/.test(currency)) throw new Error(`wechat amount: currency must be ISO 4217 upper case, got ${currency}`);
  if (amount <= 0n) throw new Error(`wechat amount: amount must be positive, got ${amount}`);
  if (currency !== wechatCurrency) return { ok: false, code: 'currency_not_supported', message: `WeChat Pay takes ${wechatCurrency} only, not ${currency}.` };
  const fen = Number(amount);
  // WeChat's `total` is a signed 32-bit int: 21,474,836.47 yuan at most.
  if (!Number.isSafeInteger(fen) || fen > 2_147_483_647) return { ok: false, code: 'amount_not_representable', message: `${amount} fen exceeds WeChat Pay's largest amount.` };
  return { ok: true, fen };
}

/** The reverse, for amounts WeChat sends back; null when the value is not a whole, non-negative fen amount. */
export function fromWechatAmount(value: unknown): bigint | null {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return null;
  return BigInt(value);
}
