// Where each currency is at home, for the currency/country mismatch rule. A currency missing
// here never triggers the rule (we do not guess).

const euro = ['AT', 'BE', 'CY', 'DE', 'EE', 'ES', 'FI', 'FR', 'GR', 'HR', 'IE', 'IT', 'LT', 'LU', 'LV', 'MT', 'NL', 'PT', 'SI', 'SK', 'AD', 'MC', 'SM', 'VA', 'ME', 'XK'];

export const currencyHomeCountries: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  Object.entries({
    USD: ['US', 'PR', 'GU', 'VI', 'AS', 'MP', 'UM', 'EC', 'SV', 'PA', 'TL', 'FM', 'MH', 'PW', 'BQ', 'TC', 'VG', 'ZW'],
    EUR: euro,
    CNY: ['CN'],
    GBP: ['GB', 'IM', 'JE', 'GG'],
    JPY: ['JP'],
    HKD: ['HK'],
    SGD: ['SG'],
    AUD: ['AU', 'CX', 'CC', 'NF', 'KI', 'NR', 'TV'],
    CAD: ['CA'],
    CHF: ['CH', 'LI'],
    KRW: ['KR'],
    INR: ['IN'],
  }).map(([currency, countries]) => [currency, new Set(countries)]),
);

/** True when the currency has known home countries and the country is not one of them. */
export function isCurrencyCountryMismatch(currency: string, country: string): boolean {
  const home = currencyHomeCountries.get(currency);
  return home !== undefined && !home.has(country);
}
