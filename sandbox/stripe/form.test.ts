import { describe, expect, it } from 'vitest';
import { canonicalParams, parseForm } from './form.ts';

describe('parseForm (Stripe bracket notation)', () => {
  it('reads scalars, hashes and both array forms', () => {
    const parsed = parseForm('amount=1000&currency=usd&metadata[order]=42&metadata[note]=a+b%26c&payment_method_types[]=card&expand[0]=x&expand[1]=y');
    expect(parsed).toEqual({
      ok: true,
      value: { amount: '1000', currency: 'usd', metadata: { order: '42', note: 'a b&c' }, payment_method_types: ['card'], expand: ['x', 'y'] },
    });
  });

  it('reads nested hashes and orders indexed arrays by index', () => {
    expect(parseForm('created[gte]=10&created[lt]=20&a[2]=c&a[0]=a&a[1]=b')).toEqual({ ok: true, value: { created: { gte: '10', lt: '20' }, a: ['a', 'b', 'c'] } });
    expect(parseForm('')).toEqual({ ok: true, value: {} });
  });

  it.each([
    ['a=1&a[b]=2', 'a[b]'],
    ['a[b]=1&a=2', 'a'],
    ['a[0]=1&a[x]=2', 'a[x]'],
    ['a[b=1', 'a[b'],
    ['[a]=1', '[a]'],
    ['__proto__[x]=1', '__proto__[x]'],
    ['a[b][c][d][e][f][g]=1', 'a[b][c][d][e][f][g]'],
    ['a[1000]=1', 'a[1000]'],
  ])('refuses %s', (text, param) => {
    const parsed = parseForm(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.param).toBe(param);
  });

  it('refuses bad percent-encoding and too many parameters', () => {
    expect(parseForm('a=%E0%A4%A').ok).toBe(false);
    expect(parseForm(Array.from({ length: 1001 }, (_, index) => `k${index}=1`).join('&')).ok).toBe(false);
  });

  it('canonicalizes parameters independently of their order', () => {
    const one = parseForm('b=2&a=1&m[y]=2&m[x]=1');
    const two = parseForm('m[x]=1&a=1&m[y]=2&b=2');
    if (!one.ok || !two.ok) throw new Error('parse failed');
    expect(canonicalParams(one.value)).toBe(canonicalParams(two.value));
  });
});
