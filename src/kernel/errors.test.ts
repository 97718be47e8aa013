import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorCatalog } from './errors.ts';
import { renderErrorDocs } from './error-docs.ts';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : full.endsWith('.ts') && !full.endsWith('.test.ts') ? [full] : [];
  });
}

describe('the error catalog', () => {
  it('is what docs/errors.md says (regenerate with npm run docs:errors)', () => {
    expect(readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')).toBe(renderErrorDocs());
  });

  it('uses snake_case nouns, statuses 4xx/5xx and a description for every code', () => {
    for (const [code, entry] of Object.entries(errorCatalog)) {
      expect(code).toMatch(/^[a-z]+(_[a-z0-9]+)*$/);
      expect(entry.status).toBeGreaterThanOrEqual(400);
      expect(entry.status).toBeLessThan(600);
      expect(entry.description.length).toBeGreaterThan(10);
    }
  });

  it('has every code the source throws, and every catalog code is used somewhere', () => {
    const src = sourceFiles(path.resolve(import.meta.dirname, '..')).map((f) => readFileSync(f, 'utf8')).join('\n');
    const thrown = new Set([...src.matchAll(/ClearwayError\(\s*'([a-z_]+)'/g)].map((m) => m[1]!));
    for (const code of thrown) expect(Object.keys(errorCatalog), `thrown code ${code}`).toContain(code);
    for (const code of Object.keys(errorCatalog)) expect(src.includes(`'${code}'`), `catalog code ${code} is used`).toBe(true);
  });
});
