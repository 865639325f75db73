import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { BUNDLE_FILE, bundle } from './bundle.ts';

it('the committed browser bundle is what the sources build to (run npm run build -w @parley/client)', async () => {
  const built = await bundle();
  expect(built).toContain('ParleyClient');
  // Browser-safe: nothing from Node's runtime made it in.
  expect(built).not.toMatch(/from ["']node:|require\(|process\.|Buffer\./);
  expect(await readFile(BUNDLE_FILE, 'utf8')).toBe(built);
}, 30_000);

it('the bundle loads as an ES module and exports a working client class', async () => {
  const mod = (await import(
    `data:text/javascript,${encodeURIComponent(await bundle())}`
  )) as typeof import('./index.ts');
  expect(typeof mod.ParleyClient).toBe('function');
  expect(mod.closeAction(4003)).toBe('reauth');
}, 30_000);
