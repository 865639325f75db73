/**
 * Static checks of the ops page (no browser here): it loads nothing from outside the gateway,
 * never parses data as HTML, every element the script looks up exists, and the gateway serves
 * the page and its assets.
 */
import { readFileSync } from 'node:fs';
import { MemoryBroker } from '@parley/bus';
import { describe, expect, it } from 'vitest';
import { startGateway } from './harness.ts';

const dir = new URL('../public/', import.meta.url);
const html = readFileSync(new URL('ops.html', dir), 'utf8');
const js = readFileSync(new URL('ops.js', dir), 'utf8');
const css = readFileSync(new URL('ops.css', dir), 'utf8');

describe('ops page', () => {
  it('never renders data as HTML', () => {
    for (const bad of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval('])
      expect(js.includes(bad), bad).toBe(false);
  });

  it('loads nothing from outside the gateway', () => {
    const urls = [...`${html}\n${js}\n${css}`.matchAll(/(?:https?:)?\/\/[\w.-]+\.[a-z]{2,}[^\s'"`)]*/g)].map(
      (m) => m[0],
    );
    // The SVG namespace is an identifier, not a request.
    expect(urls.filter((u) => u !== 'http://www.w3.org/2000/svg')).toEqual([]);
    expect(html).toContain('src="/static/ops.js"');
    expect(html).toContain('href="/static/ops.css"');
  });

  it('every element id the script uses exists in the page', () => {
    const used = new Set([...js.matchAll(/\$\('([\w-]+)'\)/g)].map((m) => m[1]));
    expect(used.size).toBeGreaterThan(10);
    const ids = new Set([...html.matchAll(/\bid="([\w-]+)"/g)].map((m) => m[1]));
    expect([...used].filter((id) => !ids.has(id))).toEqual([]);
  });

  it('polls the admin stats endpoint with a bearer token', () => {
    expect(js).toContain('/v1/ops/stats');
    expect(js).toMatch(/authorization: `Bearer \$\{token\}`/);
    expect(js).toContain('/v1/dev/token?sub=ops');
  });

  it('is served by the gateway at /ops and /static', async () => {
    const gw = await startGateway({ broker: new MemoryBroker() });
    try {
      const page = await fetch(`${gw.http}/ops`);
      expect(page.headers.get('content-type')).toContain('text/html');
      expect(await page.text()).toBe(html);
      const script = await fetch(`${gw.http}/static/ops.js`);
      expect(script.headers.get('content-type')).toContain('javascript');
      expect(await script.text()).toBe(js);
      expect((await fetch(`${gw.http}/static/ops.css`)).status).toBe(200);
    } finally {
      await gw.stop();
    }
  });
});
