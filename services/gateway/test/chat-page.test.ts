/**
 * Static checks of the demo chat page (no browser here; browser.int.test.ts drives it in
 * Chromium): the checks every page passes (pages.shared.ts), the SDK comes from the gateway, and
 * the static route that serves the page's module folders reaches nothing outside public/.
 */
import { request } from 'node:http';
import { MemoryBroker } from '@parley/bus';
import { describe, expect, it } from 'vitest';
import { startGateway } from './harness.ts';
import { moduleGraph, staticPageChecks } from './pages.shared.ts';

const page = { route: '/', html: 'index.html', css: 'chat.css', entry: 'chat/main.js' };

/** A GET with the path sent as written: fetch() would resolve `..` and `%2e%2e` before sending. */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('demo chat page', () => {
  staticPageChecks(page);

  it('imports the SDK bundle the gateway serves, and nothing else from outside its folder but dom.js', () => {
    const graph = moduleGraph(page.entry);
    const imports = [...graph.values()].flatMap((s) => [...s.matchAll(/from '([^']+)'/g)].map((m) => m[1]));
    expect(imports).toContain('/static/parley-client.js');
    expect([...graph.keys()].filter((f) => !f.startsWith('chat/'))).toEqual(['dom.js']);
  });

  it('the static route serves module folders, and no path outside public/', async () => {
    const gw = await startGateway({ broker: new MemoryBroker() });
    try {
      const ok = await rawGet(gw.port, '/static/chat/main.js');
      expect(ok.status).toBe(200);
      expect(ok.body).toContain("from './session.js'");
      for (const path of [
        '/static/../src/http.ts',
        '/static/chat/../../src/http.ts',
        '/static/%2e%2e/src/http.ts',
        '/static/..%2fsrc%2fhttp.ts',
        '/static/chat/%2e%2e/%2e%2e/package.json',
        '/static/.hidden',
        '/static/chat/.%2e/index.html',
        '/static//chat/main.js',
        '/static/chat/',
        '/static/chat',
        '/static/a/b/c/d.js',
      ]) {
        const r = await rawGet(gw.port, path);
        expect(r.status, path).toBe(404);
        expect(r.body, path).not.toMatch(/export function|"name"|<html/);
      }
    } finally {
      await gw.stop();
    }
  });
});
