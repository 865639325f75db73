/**
 * Browser test helpers: the whole cluster in one process (embedded mode composition) on the int
 * project's real NATS, Kafka and Mongo-wire server, and headless Chromium driven by playwright-core.
 *
 * Chromium is Debian's (`apt-get install -y chromium`, /usr/bin/chromium, or CHROMIUM_PATH). A
 * missing binary is a failure, never a skip: CI installs it, so its absence is a broken setup.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Embedded, startEmbedded } from '@parley/embedded';
import { createLogger, createTestLogger } from '@parley/log';
import { eventually, uniquePrefix } from '@parley/testkit';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/browser/', import.meta.url));

export interface Urls {
  natsUrl: string;
  kafkaBrokers: string;
  mongoUrl: string;
}

export interface Stack {
  prefix: string;
  embedded: Embedded;
  /** http://127.0.0.1:PORT of the gateway. */
  base: string;
  stop(): Promise<void>;
}

/** Every name other test files could share is made unique (database, bridge durable, writer group). */
export async function startStack(urls: Urls, env: Record<string, string> = {}): Promise<Stack> {
  const prefix = uniquePrefix('web');
  const log = process.env.TEST_LOG_LEVEL
    ? createLogger({ service: 'browser-test', level: process.env.TEST_LOG_LEVEL as 'debug' })
    : createTestLogger({ level: 'warn' }).logger;
  const embedded = await startEmbedded(
    {
      NATS_URL: urls.natsUrl,
      KAFKA_BROKERS: urls.kafkaBrokers,
      MONGO_URL: urls.mongoUrl,
      MONGO_DB: prefix,
      HISTORY_BRIDGE_DURABLE: prefix,
      HISTORY_WRITER_GROUP: prefix,
      GATEWAY_PORT: '0',
      HISTORY_PORT: '0',
      PRESENCE_PORT: '0',
      NOTIFY_PORT: '0',
      GATEWAY_HOST: '127.0.0.1',
      HISTORY_HOST: '127.0.0.1',
      PRESENCE_HOST: '127.0.0.1',
      NOTIFY_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...env,
    },
    log,
  );
  const base = `http://127.0.0.1:${embedded.ports.gateway}`;
  const ports = Object.values(embedded.ports);
  await eventually(
    async () => {
      for (const port of ports) {
        const r = await fetch(`http://127.0.0.1:${port}/readyz`);
        if (r.status !== 200) throw new Error(`:${port}/readyz ${r.status}`);
      }
    },
    { timeoutMs: 30_000, message: 'every service ready' },
  );
  return { prefix, embedded, base, stop: () => embedded.stop() };
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

/** A fresh browser profile (own storage) with one page; page errors fail loudly in the log. */
export async function newPage(browser: Browser, label: string): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ viewport: { width: 1180, height: 720 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error(`[${label}] page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') console.error(`[${label}] console: ${m.text()}`);
  });
  return { ctx, page };
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
