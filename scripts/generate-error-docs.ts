import { writeFileSync } from 'node:fs';
import { renderErrorDocs } from '../src/kernel/error-docs.ts';

writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorDocs());
console.log('wrote docs/errors.md');
