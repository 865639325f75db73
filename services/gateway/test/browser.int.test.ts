/**
 * The demo chat page and the ops page in headless Chromium against the whole cluster on real
 * NATS, Kafka and a Mongo-wire server: two browser profiles (alice, bob) chat, see typing and
 * presence, scroll back through history, survive a reload and a cut socket, DM each other, get a
 * mention notification, and the ops page counts a third browser's connection. Screenshots go to
 * test-artifacts/browser/.
 */
import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchChromium, newPage, type Stack, shot, signIn, startStack } from './browser.shared.ts';
import { moduleGraph } from './pages.shared.ts';

const tag = Math.random().toString(36).slice(2, 6);
const ALICE = `alice-${tag}`;
const BOB = `bob-${tag}`;
const CAROL = `carol-${tag}`;
const ROOM = `lobby-${tag}`;
const DM = `dm#${[ALICE, BOB].sort().join(',')}`;
const SEED = 120;

let stack: Stack | undefined;
let browser: Browser | undefined;
let alice: Page;
let bob: Page;
/** What alice's page loaded from /static/. */
let aliceLoaded: Set<string>;
/** Bob's sockets pass through this route so the test can cut them (both sides). */
const bobSockets: [page: WebSocketRoute, server: WebSocketRoute][] = [];
let cutBob = false;

const msg = (page: Page, text: string) => page.locator('#msg-list li', { hasText: text });
const text = (page: Page, sel: string) => page.locator(sel).first().textContent();

async function joinRoom(page: Page, room: string): Promise<void> {
  await page.fill('#join-room', room);
  await page.click('#join-form button[type=submit]');
  await page.waitForSelector(`#rooms li[data-room="${room}"][data-state=joined]`);
  await page.waitForSelector(`#room-title:text-is("# ${room}")`);
}

async function send(page: Page, body: string): Promise<void> {
  await page.fill('#send-text', body);
  await page.press('#send-text', 'Enter');
}

beforeAll(async () => {
  stack = await startStack(
    { natsUrl: inject('natsUrl'), kafkaBrokers: inject('kafkaBrokers'), mongoUrl: inject('mongoUrl') },
    { LIMIT_PUBLISH_PER_SECOND: '500', LIMIT_PUBLISH_BURST: '500' },
  );
  browser = await launchChromium();
  ({ page: alice, loaded: aliceLoaded } = await newPage(browser, 'alice'));
  const b = await newPage(browser, 'bob');
  bob = b.page;
  await b.ctx.routeWebSocket(/\/ws/, (ws) => {
    if (cutBob) return void ws.close({ code: 4010, reason: 'cut by the test' });
    bobSockets.push([ws, ws.connectToServer()]);
  });
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('demo chat page', () => {
  it('alice and bob chat: pending then acked, typing, presence and status, bodies as text', async () => {
    const base = stack!.base;
    await signIn(alice, base, ALICE);
    // The page runs from its split modules: every one of them, and the SDK bundle, was loaded.
    const want = [...moduleGraph('chat/main.js').keys(), 'parley-client.js', 'chat.css'];
    expect(want.filter((f) => !aliceLoaded.has(f))).toEqual([]);
    await signIn(bob, base, BOB);
    await joinRoom(alice, ROOM);
    await joinRoom(bob, ROOM);

    // Presence: each sees the other online in the room.
    await alice.waitForSelector(`#online li[data-user="${BOB}"][data-status=online]`);
    await bob.waitForSelector(`#online li[data-user="${ALICE}"][data-status=online]`);

    // Typing: bob sees alice typing, and it goes away once she sends.
    await alice.locator('#send-text').pressSequentially('hello b', { delay: 20 });
    await bob.waitForSelector(`#typing:text-is("${ALICE} is typing…")`);
    await shot(bob, '01-bob-sees-typing');

    // Every state a message of alice's goes through, recorded as the page renders it.
    await alice.evaluate(() => {
      const w = window as unknown as { states: string[] };
      w.states = [];
      new MutationObserver((records) => {
        for (const r of records)
          for (const n of Array.from(r.addedNodes))
            if (n instanceof HTMLElement && n.dataset.cid) w.states.push(n.dataset.state ?? '');
      }).observe(document.getElementById('msg-list')!, { childList: true });
    });
    const evil = 'hello bob <img src=x onerror="window.pwned=1"><b>not bold</b>';
    await alice.fill('#send-text', '');
    await send(alice, evil);
    await msg(alice, 'hello bob').and(alice.locator('[data-state=acked]')).waitFor();
    expect(await alice.evaluate(() => (window as unknown as { states: string[] }).states[0])).toBe('pending');
    await msg(bob, 'hello bob').waitFor();
    await bob.waitForSelector('#typing:empty');
    // Rendered as text: the exact characters, no element parsed out of them, no script run.
    expect(await msg(bob, 'hello bob').locator('.body').textContent()).toBe(evil);
    expect(await bob.locator('#msg-list img, #msg-list b').count()).toBe(0);
    expect(await bob.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();

    await send(bob, 'hi alice');
    await msg(alice, 'hi alice').waitFor();
    await msg(bob, 'hi alice').and(bob.locator('[data-state=acked]')).waitFor();

    // Status: bob goes dnd, alice's online list follows; then back.
    await bob.selectOption('#me-status', 'dnd');
    await alice.waitForSelector(`#online li[data-user="${BOB}"][data-status=dnd]`);
    await shot(alice, '02-alice-chat-bob-dnd');
    await bob.selectOption('#me-status', 'online');
    await alice.waitForSelector(`#online li[data-user="${BOB}"][data-status=online]`);
    await shot(bob, '03-bob-chat');
  });

  it('scrolling to the top pages older history, and a reload recovers it', async () => {
    await alice.evaluate(
      async ([room, n]) => {
        const { client } = (
          window as unknown as {
            parley: { client: { publish(room: string, body: string): Promise<unknown> } };
          }
        ).parley;
        await Promise.all(Array.from({ length: n }, (_, i) => client.publish(room, `seed ${i}`)));
      },
      [ROOM, SEED] as const,
    );
    await msg(bob, `seed ${SEED - 1}`).waitFor();

    await bob.reload();
    await bob.waitForSelector('#conn[data-state=open]');
    await bob.waitForSelector(`#rooms li[data-room="${ROOM}"][data-state=joined]`);
    await msg(bob, `seed ${SEED - 1}`).waitFor();
    // Only the latest page at first.
    expect(await msg(bob, 'seed 0').count()).toBe(0);
    await shot(bob, '04-bob-after-reload');

    for (let i = 0; i < 20 && (await msg(bob, 'hello bob').count()) === 0; i++) {
      await bob.evaluate(() => {
        document.getElementById('messages')!.scrollTop = 0;
      });
      await bob.waitForTimeout(300);
    }
    await msg(bob, 'hello bob').waitFor();
    await bob.waitForSelector('#older:text-matches("beginning of")');
    const seqs = await bob.$$eval('#msg-list li[data-seq]', (els) => els.map((e) => Number(e.dataset.seq)));
    expect(seqs.length).toBe(SEED + 2);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    await shot(bob, '05-bob-scrolled-back');

    await alice.reload();
    await alice.waitForSelector('#conn[data-state=open]');
    await msg(alice, `seed ${SEED - 1}`).waitFor();
    expect(await text(alice, '#room-title')).toBe(`# ${ROOM}`);
  });

  it('the reconnect banner shows the state and what recovery replayed', async () => {
    cutBob = true;
    for (const [page, server] of bobSockets.splice(0)) {
      await server.close({ code: 1000, reason: 'cut by the test' });
      await page.close({ code: 4010, reason: 'cut by the test' });
    }
    await bob.waitForSelector('#conn[data-state=reconnecting]');
    expect(await text(bob, '#banner-text')).toMatch(/Connection lost.*Reconnecting/);
    await shot(bob, '06-bob-reconnecting');
    for (let i = 1; i <= 3; i++) await send(alice, `while you were away ${i}`);
    await msg(alice, 'while you were away 3').and(alice.locator('[data-state=acked]')).waitFor();
    cutBob = false;
    await bob.waitForSelector('#banner-text:text-matches("Recovered: 3 missed message")', {
      timeout: 30_000,
    });
    await bob.waitForSelector('#conn[data-state=open]');
    for (let i = 1; i <= 3; i++) await msg(bob, `while you were away ${i}`).waitFor();
    const seqs = await bob.$$eval('#msg-list li[data-seq]', (els) => els.map((e) => Number(e.dataset.seq)));
    expect(new Set(seqs).size).toBe(seqs.length);
    await bob.evaluate(() => {
      const m = document.getElementById('messages')!;
      m.scrollTop = m.scrollHeight;
    });
    await shot(bob, '07-bob-recovered');
  });

  it('a DM from the online list, the conversation list with an unread badge, a display-name change', async () => {
    await alice.click(`#online li[data-user="${BOB}"] button.dm`);
    await alice.waitForSelector(`#room-title:text-is("@ ${BOB}")`);
    await send(alice, 'psst, just us');
    await msg(alice, 'psst').and(alice.locator('[data-state=acked]')).waitFor();

    const convo = bob.locator(`#convos li[data-room="${DM}"]`);
    await convo.locator('.badge', { hasText: '1' }).waitFor({ timeout: 15_000 });
    await shot(bob, '08-bob-dm-unread');
    await convo.locator('button').click();
    await bob.waitForSelector(`#room-title:text-is("@ ${ALICE}")`);
    await msg(bob, 'psst, just us').waitFor();
    await convo.locator('.badge').waitFor({ state: 'detached' });
    await send(bob, 'hey, only you see this');
    await msg(alice, 'only you see this').waitFor();

    await alice.click('#me-name');
    await alice.fill('#profile-name', 'Alice <A.>');
    await alice.click('#profile-form button[type=submit]');
    await alice.waitForSelector('#me-name:text-is("Alice <A.>")');
    await bob.waitForSelector(`#online li[data-user="${ALICE}"] .name:text-is("Alice <A.>")`);
    await bob.waitForSelector(`#room-title:text-is("@ Alice <A.>")`);
    await send(alice, 'new name, same me');
    await msg(bob, 'new name, same me').locator('.name:text-is("Alice <A.>")').waitFor();
    await shot(alice, '09-alice-dm');
    await shot(bob, '10-bob-dm');

    // A third user is not in the DM's online list, and the DM never shows in others' rooms.
    expect(await bob.locator('#online li').count()).toBe(2);
  });

  it('the bell counts a mention and marks it read', async () => {
    await alice.click(`#rooms li[data-room="${ROOM}"] button.item`);
    await alice.waitForSelector(`#room-title:text-is("# ${ROOM}")`);
    await send(alice, `@${BOB} have a look`);
    await bob.waitForSelector('#bell-count:text-is("1")', { timeout: 30_000 });
    await bob.click('#bell');
    await bob.locator('#notif-list li.unread').first().waitFor();
    await shot(bob, '11-bob-notifications');
    await bob.click('#notif-read');
    await bob.waitForSelector('#bell-count', { state: 'hidden' });
    await bob.waitForSelector('#notif-list li.unread', { state: 'detached' });
    await bob.click('#bell');
  });
});

describe('ops page', () => {
  it('shows the connection count rising when a third browser connects', async () => {
    const base = stack!.base;
    const { page: ops, loaded } = await newPage(browser!, 'ops');
    await ops.goto(`${base}/ops`);
    await ops.waitForSelector('#status:text-is("signed out")');
    expect([...moduleGraph('ops/main.js').keys()].filter((f) => !loaded.has(f))).toEqual([]);
    await ops.click('#dev-token');
    const tile = ops.locator('#tile-total-connections');
    const count = async () => Number(await tile.textContent());
    await ops.waitForFunction(
      () => Number(document.getElementById('tile-total-connections')?.textContent) >= 2,
    );
    const before = await count();
    const { page: carol } = await newPage(browser!, 'carol');
    await signIn(carol, base, CAROL);
    await ops.waitForFunction(
      (n) => Number(document.getElementById('tile-total-connections')?.textContent) > n,
      before,
      { timeout: 20_000 },
    );
    expect(await count()).toBeGreaterThan(before);
    await shot(ops, '12-ops-connections');
    await shot(carol, '13-carol-general');
  });
});
