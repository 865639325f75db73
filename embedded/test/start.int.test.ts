/**
 * README's run command on a fresh clone: `npm start` installs dependencies itself, builds the SDK
 * bundle the demo page loads, starts all four services in one process, and two WebSocket clients can
 * chat through it. SIGTERM stops it cleanly.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, freePort, wsClient } from '@parley/testkit';
import { afterAll, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'parley-clone-'));
let child: ChildProcess | undefined;
let output = '';

afterAll(() => {
  // The launcher runs the service in its own process group: sweep both by their path.
  spawnSync('pkill', ['-9', '-f', dir]);
  rmSync(dir, { recursive: true, force: true });
});

it('npm start on a fresh clone serves a working chat', async () => {
  execFileSync('git', ['clone', '--quiet', '--depth', '1', `file://${repo}`, dir]);
  const [gw, history, presence, notify] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const env: Record<string, string | undefined> = {
    ...process.env,
    GATEWAY_PORT: String(gw),
    HISTORY_PORT: String(history),
    PRESENCE_PORT: String(presence),
    NOTIFY_PORT: String(notify),
    LOG_LEVEL: 'warn',
  };
  // Embedded mode is selected by the absence of broker URLs.
  for (const k of ['NATS_URL', 'KAFKA_BROKERS', 'MONGO_URL']) delete env[k];
  child = spawn('npm', ['start'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child?.on('exit', (code, signal) => resolve({ code, signal })),
  );

  await eventually(
    async () => {
      const r = await fetch(`http://127.0.0.1:${gw}/readyz`);
      if (r.status !== 200) throw new Error(`readyz ${r.status}`);
    },
    { timeoutMs: 240_000, intervalMs: 500, message: 'embedded gateway ready' },
  ).catch((e) => {
    throw new Error(`${(e as Error).message}\n--- npm start output ---\n${output.slice(-4000)}`);
  });
  expect(output).toContain(`http://localhost:${gw}/`);
  expect(output).toContain('npm run token');
  // The demo page and the SDK bundle it loads: the bundle is not in the clone, npm start built it.
  for (const [path, text] of [
    ['/static/chat/main.js', "from './session.js'"],
    ['/static/parley-client.js', 'ParleyClient'],
  ] as const) {
    const r = await fetch(`http://127.0.0.1:${gw}${path}`);
    expect(r.status, path).toBe(200);
    expect(await r.text(), path).toContain(text);
  }

  const tokenFor = async (sub: string) =>
    ((await (await fetch(`http://127.0.0.1:${gw}/v1/dev/token?sub=${sub}`)).json()) as { token: string })
      .token;
  const url = `ws://127.0.0.1:${gw}/ws`;
  const alice = await wsClient(url, { token: await tokenFor('alice') });
  const bob = await wsClient(url, { token: await tokenFor('bob') });
  await alice.request({ type: 'join', room: 'lobby' });
  await bob.request({ type: 'join', room: 'lobby' });
  expect(
    await alice.request({ type: 'publish', room: 'lobby', body: 'hi bob', clientMsgId: 'a1' }),
  ).toMatchObject({
    type: 'ack',
  });
  const got = await bob.waitFor((f) => f.type === 'message');
  expect(got).toMatchObject({ from: 'alice', body: 'hi bob' });
  expect(
    await bob.request({ type: 'publish', room: 'lobby', body: 'hi alice', clientMsgId: 'b1' }),
  ).toMatchObject({
    type: 'ack',
  });
  expect(await alice.waitFor((f) => f.type === 'message' && f.from === 'bob')).toMatchObject({
    body: 'hi alice',
  });
  await eventually(async () => {
    const h = await bob.request({ type: 'history', room: 'lobby' });
    expect(h).toMatchObject({ type: 'history', messages: [{ body: 'hi bob' }, { body: 'hi alice' }] });
  });
  await Promise.all([alice.close(), bob.close()]);

  // npm does not pass signals on to its script, so signal npm's whole group (as a terminal's
  // Ctrl-C would): the launcher forwards it once to the service, which drains and exits 0.
  process.kill(-(child.pid ?? 0), 'SIGTERM');
  const end = await exited;
  expect(end.code === 0 || end.signal === 'SIGTERM').toBe(true);
  await eventually(() => expect(output).toContain('SIGTERM, draining'));
  expect(output).not.toContain('drain failed');
}, 300_000);
