import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { renderErrorsDoc } from './errors-doc.ts';

it('docs/errors.md lists every error and close code exactly as codes.ts does', () => {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  expect(doc).toBe(renderErrorsDoc());
});
