// ISO 4217 currencies Clearway supports, with the exponent of each (digits of its minor unit).
// Pure data and lookups; no I/O.
//
// Source: ISO 4217 list one as published on 2026-01-01 (SIX Group, the maintenance agency).
// Left out on purpose, each for a reason:
// - no minor unit in ISO 4217 ("N.A."), so no amount in minor units: precious metals
//   (XAU, XAG, XPD, XPT), units of account (XDR, XUA, XSU, XBA, XBB, XBC, XBD),
//   and the testing / no-currency codes XTS, XXX;
// - XAD (Arab Accounting Dinar): a unit of account of the Arab Monetary Fund, nothing pays in it;
// - exponent 4 (CLF, UYW): indexed units of account; DESIGN.md allows exponents 0, 2 and 3 only;
// - withdrawn codes: ANG (-> XCG, 2025), BGN (-> EUR, 2026), CUC, HRK (-> EUR, 2023),
//   SLL (-> SLE), ZWL (-> ZWG, 2024), MRO, STD, VEF.
// Fund codes that do carry a minor unit (BOV, CHE, CHW, COU, MXV, USN, UYI) are kept.

export type CurrencyExponent = 0 | 2 | 3;

/** Currencies whose minor unit has no digits: the amount is in whole units. */
const exponent0 = ['BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'UYI', 'VND', 'VUV', 'XAF', 'XOF', 'XPF'] as const;

/** Currencies with three decimals (the dinars and the Omani rial). */
const exponent3 = ['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND'] as const;

/** Everything else: two decimals. */
const exponent2 = [
  'AED', 'AFN', 'ALL', 'AMD', 'AOA', 'ARS', 'AUD', 'AWG', 'AZN',
  'BAM', 'BBD', 'BDT', 'BMD', 'BND', 'BOB', 'BOV', 'BRL', 'BSD', 'BTN', 'BWP', 'BYN', 'BZD',
  'CAD', 'CDF', 'CHE', 'CHF', 'CHW', 'CNY', 'COP', 'COU', 'CRC', 'CUP', 'CVE', 'CZK',
  'DKK', 'DOP', 'DZD', 'EGP', 'ERN', 'ETB', 'EUR', 'FJD', 'FKP',
  'GBP', 'GEL', 'GHS', 'GIP', 'GMD', 'GTQ', 'GYD',
  'HKD', 'HNL', 'HTG', 'HUF', 'IDR', 'ILS', 'INR', 'IRR', 'JMD',
  'KES', 'KGS', 'KHR', 'KPW', 'KYD', 'KZT', 'LAK', 'LBP', 'LKR', 'LRD', 'LSL',
  'MAD', 'MDL', 'MGA', 'MKD', 'MMK', 'MNT', 'MOP', 'MRU', 'MUR', 'MVR', 'MWK', 'MXN', 'MXV', 'MYR', 'MZN',
  'NAD', 'NGN', 'NIO', 'NOK', 'NPR', 'NZD', 'PAB', 'PEN', 'PGK', 'PHP', 'PKR', 'PLN', 'QAR',
  'RON', 'RSD', 'RUB', 'SAR', 'SBD', 'SCR', 'SDG', 'SEK', 'SGD', 'SHP', 'SLE', 'SOS', 'SRD', 'SSP', 'STN', 'SVC', 'SYP', 'SZL',
  'THB', 'TJS', 'TMT', 'TOP', 'TRY', 'TTD', 'TWD', 'TZS',
  'UAH', 'USD', 'USN', 'UYU', 'UZS', 'VED', 'VES', 'WST',
  'XCD', 'XCG', 'YER', 'ZAR', 'ZMW', 'ZWG',
] as const;

const currencyCodePattern = /^[A-Z]{3}$/;

function buildExponentTable(): ReadonlyMap<string, CurrencyExponent> {
  const table = new Map<string, CurrencyExponent>();
  const groups: ReadonlyArray<readonly [CurrencyExponent, readonly string[]]> = [
    [0, exponent0],
    [2, exponent2],
    [3, exponent3],
  ];
  for (const [exponent, codes] of groups) {
    for (const code of codes) {
      // Checked once at load: a typo or a code listed twice is a programmer error.
      if (!currencyCodePattern.test(code)) throw new Error(`currency table: malformed code ${code}`);
      if (table.has(code)) throw new Error(`currency table: ${code} listed twice`);
      table.set(code, exponent);
    }
  }
  return table;
}

const exponentTable = buildExponentTable();

/** Every supported code, upper case, sorted. */
export const supportedCurrencies: readonly string[] = Object.freeze([...exponentTable.keys()].sort());

/** Digits of the minor unit of an upper-case ISO 4217 code; undefined when not supported. */
export function currencyExponent(code: string): CurrencyExponent | undefined {
  return exponentTable.get(code);
}

/** True for an upper-case code in the table. Lower case is not a code: normalize first. */
export function isSupportedCurrency(code: string): boolean {
  return exponentTable.has(code);
}

/** Accepts a code in either case ("usd", "USD"); returns the upper-case code, or undefined. */
export function normalizeCurrency(input: string): string | undefined {
  if (typeof input !== 'string' || !/^[A-Za-z]{3}$/.test(input)) return undefined;
  const code = input.toUpperCase();
  return exponentTable.has(code) ? code : undefined;
}
