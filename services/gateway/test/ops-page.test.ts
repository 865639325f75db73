/**
 * Static checks of the ops page (no browser here; browser.int.test.ts drives it in Chromium): the
 * checks every page passes (pages.shared.ts), and it polls the admin stats endpoint.
 */
import { describe, expect, it } from 'vitest';
import { moduleGraph, staticPageChecks } from './pages.shared.ts';

const page = { route: '/ops', html: 'ops.html', css: 'ops.css', entry: 'ops/main.js' };

describe('ops page', () => {
  staticPageChecks(page);

  it('polls the admin stats endpoint with a bearer token', () => {
    const js = [...moduleGraph(page.entry).values()].join('\n');
    expect(js).toContain('/v1/ops/stats');
    expect(js).toMatch(/authorization: `Bearer \$\{token\}`/);
    expect(js).toContain('/v1/dev/token?sub=ops');
  });
});
