import { describe, expect, it } from 'vitest';
import { parseSearchQuery } from './search.ts';

describe('parseSearchQuery (subset of Stripe search)', () => {
  it('reads metadata, status, currency and amount clauses joined by AND', () => {
    expect(parseSearchQuery(`metadata['out_trade_no']:'att_1' AND status:"succeeded" AND currency:'usd' AND amount:1000`)).toEqual({
      ok: true,
      clauses: [
        { field: 'metadata', key: 'out_trade_no', value: 'att_1' },
        { field: 'status', value: 'succeeded' },
        { field: 'currency', value: 'usd' },
        { field: 'amount', value: '1000' },
      ],
    });
  });

  it('unescapes quotes and backslashes', () => {
    expect(parseSearchQuery(`metadata["k"]:'it\\'s \\\\ here'`)).toEqual({ ok: true, clauses: [{ field: 'metadata', key: 'k', value: "it's \\ here" }] });
  });

  it.each([`status:'a' OR status:'b'`, `customer:'cus_1'`, `metadata['k']~'x'`, `metadata['k']:'open`, `amount>10`, ``, `status:'a' status:'b'`])(
    'refuses %s',
    (query) => expect(parseSearchQuery(query).ok).toBe(false),
  );
});
