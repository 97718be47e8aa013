import { errorCatalog } from './errors.ts';

/** docs/errors.md, generated from the catalog (`npm run docs:errors`); a test keeps them equal. */
export function renderErrorDocs(): string {
  const lines = [
    '# Error codes',
    '',
    'Every error Clearway answers with has this shape, and its `code` is one of the codes below:',
    '',
    '```json',
    '{"error": {"type": "invalid_request_error", "code": "invalid_param", "message": "...", "param": "items[0].quantity", "request_id": "req_..."}}',
    '```',
    '',
    'This file is generated from `src/kernel/errors.ts` by `npm run docs:errors`; a test fails when they differ.',
    '',
    '| code | HTTP status | type | meaning |',
    '| --- | --- | --- | --- |',
  ];
  for (const [code, entry] of Object.entries(errorCatalog)) {
    lines.push(`| \`${code}\` | ${entry.status} | \`${entry.type}\` | ${entry.description.replace(/\|/g, '\\|')} |`);
  }
  return lines.join('\n') + '\n';
}
