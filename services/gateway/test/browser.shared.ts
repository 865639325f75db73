/**
 * Browser test helpers: the whole cluster in one process (embedded mode composition) on the int
 * project's real NATS, Kafka and Mongo-wire server, and headless Chromium driven by playwright-core.
 *
 * Chromium is Debian's (`apt-get install -y chromium`, /usr/bin/chromium, or CHROMIUM_PATH). A
 * missing binary is a failure, never a skip: CI installs it, so its absence is a broken setup.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Embedded } from '@parley/embedded';
import { startStack as startCluster, type Urls } from '@parley/embedded/testing';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ARTIFACTS = join(ROOT, 'test-artifacts', 'browser');

export type { Urls };

export interface Stack {
  prefix: string;
  embedded: Embedded;
  /** http://127.0.0.1:PORT of the gateway. */
  base: string;
  stop(): Promise<void>;
}

/**
 * The cluster on the int project's real servers, every shared name made unique. The SDK bundle the
 * pages load is built first: it is not committed, and this way it is the SDK sources as they are.
 */
export async function startStack(urls: Urls, env: Record<string, string> = {}): Promise<Stack> {
  execFileSync('npm', ['run', 'build', '--silent', '-w', '@parley/client'], { cwd: ROOT, stdio: 'pipe' });
  const stack = await startCluster(urls, env, { label: 'web' });
  return { prefix: stack.prefix, embedded: stack.embedded, base: stack.http.gateway, stop: stack.stop };
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install Debian's package (apt-get install -y chromium) ` +
        'or set CHROMIUM_PATH. Browser tests fail rather than skip without it.',
    );
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/**
 * A fresh browser profile (own storage) with one page; page errors and failed requests show in
 * the log. `loaded`: the files under /static/ the page got (path after /static/), status 200.
 */
export async function newPage(
  browser: Browser,
  label: string,
): Promise<{ ctx: BrowserContext; page: Page; loaded: Set<string> }> {
  const ctx = await browser.newContext({ viewport: { width: 1180, height: 720 } });
  const page = await ctx.newPage();
  const loaded = new Set<string>();
  page.on('pageerror', (e) => console.error(`[${label}] page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') console.error(`[${label}] console: ${m.text()}`);
  });
  page.on('response', (r) => {
    const path = new URL(r.url()).pathname;
    if (r.status() >= 400) console.error(`[${label}] ${r.status()} ${path}`);
    else if (r.status() === 200 && path.startsWith('/static/')) loaded.add(path.slice('/static/'.length));
  });
  return { ctx, page, loaded };
}

/** Signs in on the demo page with a dev token and waits for the connection and the first room. */
export async function signIn(page: Page, base: string, name: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.fill('#dev-name', name);
  await page.click('#dev-form button[type=submit]');
  await page.waitForSelector('#conn[data-state=open]');
  await page.waitForSelector('#rooms li[data-state=joined]');
}

export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}
