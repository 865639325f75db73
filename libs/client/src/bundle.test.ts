import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { bundle, writeBundle } from './bundle.ts';

it('the browser bundle is browser-safe, and writeBundle writes exactly what the sources build to', async () => {
  const built = await bundle();
  expect(built).toContain('ParleyClient');
  // Browser-safe: nothing from Node's runtime made it in.
  expect(built).not.toMatch(/from ["']node:|require\(|process\.|Buffer\./);
  const dir = await mkdtemp(join(tmpdir(), 'parley-bundle-'));
  try {
    const file = await writeBundle(join(dir, 'parley-client.js'));
    expect(await readFile(file, 'utf8')).toBe(built);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 30_000);

it('the bundle loads as an ES module and exports a working client class', async () => {
  const mod = (await import(
    `data:text/javascript,${encodeURIComponent(await bundle())}`
  )) as typeof import('./index.ts');
  expect(typeof mod.ParleyClient).toBe('function');
  expect(mod.closeAction(4003)).toBe('reauth');
}, 30_000);
