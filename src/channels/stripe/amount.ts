// The one converter between Clearway amounts (bigint, ISO 4217 minor units) and Stripe's wire
// amounts (an integer in the currency's Stripe unit, https://docs.stripe.com/currencies).
// For almost every currency the two units are the same: Stripe's zero-decimal currencies (JPY,
// KRW, ...) are ISO exponent 0 and its two-decimal ones ISO exponent 2. The exceptions:
//   ISK  ISO exponent 0, Stripe keeps it two-decimal: 5 ISK is sent as 500.
//   MGA  ISO exponent 2, Stripe treats it as zero-decimal: only whole ariary can be sent.
//   BHD JOD KWD OMR TND  three-decimal in both, but Stripe requires the last digit to be 0.
//   IQD LYD  ISO exponent 3 with no Stripe presentment support: refused.
// An amount Stripe cannot represent is refused before anything is sent.

export type StripeAmount =
  | { readonly ok: true; readonly value: number }
  | { readonly ok: false; readonly code: 'currency_not_supported' | 'amount_not_representable'; readonly message: string };

const scaleUp: Readonly<Record<string, bigint>> = { ISK: 100n }; // stripe = minor * factor
const scaleDown: Readonly<Record<string, bigint>> = { MGA: 100n }; // stripe = minor / factor
const lastDigitZero = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND']);
const unsupported = new Set(['IQD', 'LYD', 'CLF', 'UYW']);

function checkCurrency(currency: string): void {
  if (!/^[A-Z]{3}$/.test(currency)) throw new Error(`stripe amount: currency must be ISO 4217 upper case, got ${currency}`);
}

export function toStripeAmount(amount: bigint, currency: string): StripeAmount {
  checkCurrency(currency);
  if (amount <= 0n) throw new Error(`stripe amount: amount must be positive, got ${amount}`);
  if (unsupported.has(currency)) return { ok: false, code: 'currency_not_supported', message: `Stripe does not take ${currency}.` };
  let wire = amount;
  const up = scaleUp[currency];
  const down = scaleDown[currency];
  if (up !== undefined) wire = amount * up;
  if (down !== undefined) {
    if (amount % down !== 0n) return { ok: false, code: 'amount_not_representable', message: `${currency} amounts must be whole units at Stripe.` };
    wire = amount / down;
  }
  if (lastDigitZero.has(currency) && wire % 10n !== 0n) {
    return { ok: false, code: 'amount_not_representable', message: `${currency} amounts must end in 0 at Stripe.` };
  }
  const value = Number(wire);
  if (!Number.isSafeInteger(value)) throw new Error(`stripe amount: ${wire} is not a safe integer`);
  return { ok: true, value };
}

/** The reverse, for amounts Stripe sends back; null when the value is not a whole amount we can hold. */
export function fromStripeAmount(value: unknown, currency: string): bigint | null {
  checkCurrency(currency);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return null;
  const wire = BigInt(value);
  const up = scaleUp[currency];
  const down = scaleDown[currency];
  if (up !== undefined) return wire % up === 0n ? wire / up : null;
  if (down !== undefined) return wire * down;
  return wire;
}
