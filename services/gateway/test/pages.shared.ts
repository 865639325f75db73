/**
 * Static checks shared by the demo chat page and ops page tests (no browser here): the page and
 * every ES module it loads never parse data as HTML and load nothing from outside the gateway,
 * every element id the scripts look up exists, no module in the page's folder is left unused,
 * and the gateway serves the page, its stylesheet and each module with the right content type.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { MemoryBroker } from '@parley/bus';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startGateway, type TestGateway } from './harness.ts';

const PUBLIC = new URL('../public/', import.meta.url);
/** Generated from the SDK sources and checked there (libs/client/src/bundle.test.ts). */
const SDK_BUNDLE = 'parley-client.js';

export const readPublic = (file: string): string => readFileSync(new URL(file, PUBLIC), 'utf8');

/** `from '…'` and side-effect `import '…'` specifiers of a module. */
const importsOf = (source: string): string[] =>
  [...source.matchAll(/^import\s(?:[^'"]*?\sfrom\s)?'([^']+)';/gm)].map((m) => m[1] ?? '');

/**
 * The page's own modules, keyed by path under public/: the entry and everything it imports,
 * transitively (`/static/x` is public/x; the SDK bundle is left out).
 */
export function moduleGraph(entry: string): Map<string, string> {
  const graph = new Map<string, string>();
  const visit = (file: string): void => {
    if (graph.has(file) || file === SDK_BUNDLE) return;
    const source = readPublic(file);
    graph.set(file, source);
    for (const spec of importsOf(source))
      visit(
        spec.startsWith('/static/')
          ? spec.slice('/static/'.length)
          : posix.normalize(posix.join(posix.dirname(file), spec)),
      );
  };
  visit(entry);
  return graph;
}

export interface PageSpec {
  /** Where the gateway serves the page. */
  route: string;
  html: string;
  css: string;
  /** The module the page's <script type="module"> loads, under public/. */
  entry: string;
}

/** Registers the checks every page must pass; call inside the page's describe(). */
export function staticPageChecks(page: PageSpec): void {
  const html = readPublic(page.html);
  const css = readPublic(page.css);
  const modules = moduleGraph(page.entry);
  const js = [...modules.values()].join('\n');
  let gw: TestGateway | undefined;

  beforeAll(async () => {
    gw = await startGateway({ broker: new MemoryBroker() });
  });
  afterAll(() => gw?.stop());

  it('loads its entry module, which imports every module in its folder', () => {
    expect(html).toContain(`<script type="module" src="/static/${page.entry}"></script>`);
    expect(html).toContain(`href="/static/${page.css}"`);
    const dir = posix.dirname(page.entry);
    const files = readdirSync(new URL(`${dir}/`, PUBLIC)).filter((f) => f.endsWith('.js'));
    expect(files.length).toBeGreaterThan(1);
    expect(files.map((f) => `${dir}/${f}`).filter((f) => !modules.has(f))).toEqual([]);
  });

  it('never renders data as HTML', () => {
    for (const [file, source] of modules)
      for (const bad of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval('])
        expect(source.includes(bad), `${file}: ${bad}`).toBe(false);
  });

  it('loads nothing from outside the gateway', () => {
    const urls = [...`${html}\n${js}\n${css}`.matchAll(/(?:https?:)?\/\/[\w.-]+\.[a-z]{2,}[^\s'"`)]*/g)].map(
      (m) => m[0],
    );
    // The SVG namespace is an identifier, not a request.
    expect(urls.filter((u) => u !== 'http://www.w3.org/2000/svg')).toEqual([]);
  });

  it('every element id the scripts use exists in the page', () => {
    const used = new Set([...js.matchAll(/\$\('([\w-]+)'\)/g)].map((m) => m[1]));
    expect(used.size).toBeGreaterThan(10);
    const ids = new Set([...html.matchAll(/\bid="([\w-]+)"/g)].map((m) => m[1]));
    expect([...used].filter((id) => !ids.has(id))).toEqual([]);
  });

  it(`is served by the gateway at ${page.route} and /static, every module as JavaScript`, async () => {
    const base = gw!.http;
    const doc = await fetch(`${base}${page.route}`);
    expect(doc.headers.get('content-type')).toContain('text/html');
    expect(await doc.text()).toBe(html);
    const style = await fetch(`${base}/static/${page.css}`);
    expect(style.headers.get('content-type')).toContain('text/css');
    for (const [file, source] of modules) {
      const script = await fetch(`${base}/static/${file}`);
      expect(script.status, file).toBe(200);
      // Browsers refuse a module script served with a non-JavaScript MIME type.
      expect(script.headers.get('content-type'), file).toContain('text/javascript');
      expect(await script.text(), file).toBe(source);
    }
  });
}
