// Stripe v1 request bodies: application/x-www-form-urlencoded with bracket notation, written
// the way the official libraries write them (brackets left literal, arrays by index):
//   { metadata: { order: '42' }, payment_method_types: ['card'] }
//   -> metadata[order]=42&payment_method_types[0]=card

export type FormField = string | readonly string[] | Readonly<Record<string, string>>;
export type FormFields = Readonly<Record<string, FormField>>;

function encode(text: string): string {
  return encodeURIComponent(text);
}

export function encodeForm(fields: FormFields): string {
  const pairs: string[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === 'string') {
      pairs.push(`${encode(name)}=${encode(value)}`);
    } else if (Array.isArray(value)) {
      value.forEach((item: string, index: number) => pairs.push(`${encode(name)}[${index}]=${encode(item)}`));
    } else {
      for (const [key, item] of Object.entries(value as Readonly<Record<string, string>>)) {
        pairs.push(`${encode(name)}[${encode(key)}]=${encode(item)}`);
      }
    }
  }
  return pairs.join('&');
}
