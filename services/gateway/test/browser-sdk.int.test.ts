/**
 * The SDK's ESM bundle in a real browser (issue 3): a page on the gateway's origin imports
 * /static/parley-client.js as a module, two clients join one room, publish, and each receives
 * every message once, in seq order, with acks matching; a DM room id comes out canonical.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { launchChromium, newPage, type Stack, startStack } from './browser.shared.ts';

let stack: Stack | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  stack = await startStack({
    natsUrl: inject('natsUrl'),
    kafkaBrokers: inject('kafkaBrokers'),
    mongoUrl: inject('mongoUrl'),
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

// The page only loads the bundle; the test drives it through window.sdkRun.
const PAGE = `<!doctype html><meta charset="utf-8"><title>sdk</title>
<script type="module">
  import * as sdk from '/static/parley-client.js';
  window.sdkRun = async (room, users, n) => {
    const ws = 'ws://' + location.host + '/ws';
    const token = async (sub) => (await (await fetch('/v1/dev/token?sub=' + sub)).json()).token;
    const clients = await Promise.all(users.map(async (u) => {
      const c = new sdk.ParleyClient({ url: ws, token: await token(u) });
      const got = [];
      c.on('message', (m) => { if (m.room === room) got.push({ seq: m.seq, from: m.from, body: m.body }); });
      await c.ready();
      await c.join(room);
      return { c, got };
    }));
    const [a, b] = clients;
    const acks = [];
    for (let i = 0; i < n; i++) acks.push(await a.c.publish(room, 'from a ' + i));
    acks.push(await b.c.publish(room, { kind: 'object body', n }));
    const want = acks.length;
    const t0 = Date.now();
    while (clients.some((x) => x.got.length < want) && Date.now() - t0 < 10000)
      await new Promise((r) => setTimeout(r, 50));
    const dm = a.c.dm([users[1]]);
    const outbox = clients.map((x) => x.c.outboxSize);
    await Promise.all(clients.map((x) => x.c.close()));
    return { acks, got: clients.map((x) => x.got), dm, outbox, exports: Object.keys(sdk).sort() };
  };
  window.sdkLoaded = true;
</script>`;

it('the ESM bundle loads in Chromium and two clients exchange messages through the gateway', async () => {
  const base = stack!.base;
  const { page } = await newPage(browser!, 'sdk');
  // A document really served by the gateway (not a fulfilled route: Chromium's local network
  // access checks would treat that as a public page and block its sockets to 127.0.0.1), then
  // replaced by the test page, which keeps the gateway's origin for the module import.
  await page.goto(`${base}/healthz`);
  await page.setContent(PAGE);
  await page.waitForFunction(() => (window as unknown as { sdkLoaded?: boolean }).sdkLoaded === true);
  const tag = Math.random().toString(36).slice(2, 6);
  const users = [`zed-${tag}`, `amy-${tag}`];
  const room = `sdk-${tag}`;
  const r = await page.evaluate(
    ([room, users]) =>
      (window as unknown as { sdkRun(r: string, u: string[], n: number): Promise<SdkResult> }).sdkRun(
        room,
        users,
        10,
      ),
    [room, users] as const,
  );
  expect(r.exports).toContain('ParleyClient');
  expect(r.acks).toHaveLength(11);
  expect(r.acks.every((a) => a.duplicate === false)).toBe(true);
  const ackedSeqs = r.acks.map((a) => a.seq);
  for (const got of r.got) {
    expect(got.map((m) => m.seq)).toEqual(ackedSeqs);
    expect(got.slice(0, 10).map((m) => m.body)).toEqual(Array.from({ length: 10 }, (_, i) => `from a ${i}`));
    expect(got[10]).toMatchObject({ from: users[1], body: { kind: 'object body', n: 10 } });
  }
  expect(r.dm).toBe(`dm#${[...users].sort().join(',')}`);
  expect(r.outbox).toEqual([0, 0]);
});

interface SdkResult {
  acks: { seq: number; duplicate: boolean }[];
  got: { seq: number; from: string; body: unknown }[][];
  dm: string;
  outbox: number[];
  exports: string[];
}
