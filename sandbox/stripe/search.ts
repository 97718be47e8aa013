import { sandboxLimits } from './limits.ts';
import type { PaymentIntentRecord } from './objects.ts';

// A subset of Stripe's search query language for PaymentIntents: exact-match clauses joined by
// AND, on the fields status, currency, amount and metadata['key'], for example
//   metadata['out_trade_no']:'att_123' AND status:'succeeded'
// Strings are in single or double quotes, with \' \" \\ escapes. OR, negation, ranges and
// substring match are refused with a 400 that says so. Unlike Stripe (whose index can lag by
// up to an hour), the sandbox's search is strongly consistent.

export type SearchClause =
  | { readonly field: 'metadata'; readonly key: string; readonly value: string }
  | { readonly field: 'status' | 'currency' | 'amount'; readonly value: string };

export type SearchParse = { readonly ok: true; readonly clauses: SearchClause[] } | { readonly ok: false; readonly message: string };

export function parseSearchQuery(query: string): SearchParse {
  if (query.length === 0 || query.length > sandboxLimits.search_query_length_max) {
    return { ok: false, message: `The query must be 1..${sandboxLimits.search_query_length_max} characters.` };
  }
  const clauses: SearchClause[] = [];
  let rest = query.trim();
  while (true) {
    const parsed = parseClause(rest);
    if (!parsed.ok) return parsed;
    clauses.push(parsed.clause);
    if (clauses.length > sandboxLimits.search_clauses_max) return { ok: false, message: 'Too many clauses in the query.' };
    rest = parsed.rest.trimStart();
    if (rest.length === 0) return { ok: true, clauses };
    const joiner = /^(AND|OR)\s+/.exec(rest);
    if (joiner === null) return { ok: false, message: `Unexpected input at: ${rest.slice(0, 40)}` };
    if (joiner[1] === 'OR') return { ok: false, message: 'The sandbox supports AND only.' };
    rest = rest.slice(joiner[0].length);
  }
}

type ClauseParse = { ok: true; clause: SearchClause; rest: string } | { ok: false; message: string };

function parseClause(text: string): ClauseParse {
  const metadata = /^metadata\[(['"])/.exec(text);
  if (metadata !== null) {
    const key = readQuoted(text.slice('metadata['.length));
    if (key === null) return { ok: false, message: 'Malformed metadata key.' };
    const after = key.rest;
    if (!after.startsWith(']:')) return { ok: false, message: "Expected ]: after the metadata key (only ':' exact match is supported)." };
    const value = readQuoted(after.slice(2));
    if (value === null) return { ok: false, message: 'Metadata values must be quoted strings.' };
    return { ok: true, clause: { field: 'metadata', key: key.value, value: value.value }, rest: value.rest };
  }
  const field = /^(status|currency|amount):/.exec(text);
  if (field === null) return { ok: false, message: `Unsupported field or operator at: ${text.slice(0, 40)}` };
  const name = field[1] as 'status' | 'currency' | 'amount';
  const rest = text.slice(field[0].length);
  if (name === 'amount') {
    const number = /^\d+/.exec(rest);
    if (number === null) return { ok: false, message: 'amount must be an integer.' };
    return { ok: true, clause: { field: name, value: number[0] }, rest: rest.slice(number[0].length) };
  }
  const value = readQuoted(rest);
  if (value === null) return { ok: false, message: `${name} must be a quoted string.` };
  return { ok: true, clause: { field: name, value: value.value }, rest: value.rest };
}

function readQuoted(text: string): { value: string; rest: string } | null {
  const quote = text[0];
  if (quote !== "'" && quote !== '"') return null;
  let value = '';
  for (let index = 1; index < text.length; index++) {
    const char = text[index];
    if (char === '\\') {
      const next = text[index + 1];
      if (next === undefined) return null;
      value += next;
      index += 1;
    } else if (char === quote) {
      return { value, rest: text.slice(index + 1) };
    } else {
      value += char;
    }
  }
  return null;
}

export function matches(pi: PaymentIntentRecord, clauses: readonly SearchClause[]): boolean {
  return clauses.every((clause) => {
    switch (clause.field) {
      case 'metadata':
        return pi.metadata[clause.key] === clause.value;
      case 'status':
        return pi.status === clause.value;
      case 'currency':
        return pi.currency === clause.value.toLowerCase();
      case 'amount':
        return String(pi.amount) === clause.value;
    }
  });
}
