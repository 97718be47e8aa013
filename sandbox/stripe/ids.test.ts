import { describe, expect, it } from 'vitest';
import { randomBase62, stripeId } from './ids.ts';

describe('sandbox ids', () => {
  it('draws base62 strings of the asked length, all different, every character about equally often', () => {
    const ids = Array.from({ length: 10_000 }, () => randomBase62(24));
    for (const id of ids.slice(0, 100)) expect(id).toMatch(/^[0-9A-Za-z]{24}$/);
    expect(new Set(ids).size).toBe(ids.length);
    const counts = new Map<string, number>();
    for (const char of ids.join('')) counts.set(char, (counts.get(char) ?? 0) + 1);
    expect(counts.size).toBe(62);
    const expected = (10_000 * 24) / 62; // about 3,871 each
    for (const count of counts.values()) expect(Math.abs(count - expected)).toBeLessThan(expected * 0.1);
  });

  it('names Stripe-looking ids and refuses bad prefixes and lengths', () => {
    expect(stripeId('pi')).toMatch(/^pi_[0-9A-Za-z]{24}$/);
    expect(() => stripeId('PI')).toThrow(/bad prefix/);
    expect(() => randomBase62(0)).toThrow(/bad length/);
    expect(() => randomBase62(257)).toThrow(/bad length/);
  });
});
