// Headless Chromium for the page tests (playwright-core driving Debian's /usr/bin/chromium). A test file
// skips with a reason when the browser is missing, except under CI=true, where that is a failure.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type RequestListener } from 'node:http';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const IN_CI = process.env.CI === 'true';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
export const SKIP: string | false = HAVE_CHROMIUM || IN_CI
  ? false
  : `${CHROMIUM} is missing (apt-get install chromium); set CI=true to make this a failure`;

// Compiled to dist/test/helpers/, so the repository root is three levels up.
export const OUTPUT_DIR = new URL('../../../test-output/', import.meta.url);
export const WAIT_MS = 10_000;

/** jQuery for pages written for 2.x; the full build: the slim one has no $.Deferred, which $.audience() returns. */
export const JQUERY: string = readFileSync(new URL('../../../node_modules/jquery/dist/jquery.min.js', import.meta.url), 'utf8');

export function launchChromium(): Promise<Browser> {
  if (!HAVE_CHROMIUM) throw new Error(`CI=true but ${CHROMIUM} is missing: CI must install it (apt-get install chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/** Opens `url` in a new page of `context`; the page's uncaught errors go to `errors`, for the test to check. */
export async function openPage(context: BrowserContext, url: string, errors: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => errors.push(`${url}: ${error.message}`));
  await page.goto(url);
  return page;
}

export interface PageServer {
  port: number;
  /** Closes the server and its keep-alive connections. */
  close(): Promise<void>;
}

/** Serves a test's own pages (pages that embed the client as a site would) on a free loopback port. */
export async function servePages(handler: RequestListener): Promise<PageServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Waits until `selector`'s text is `expected`; on timeout, says what it showed instead. */
export async function waitForText(page: Page, selector: string, expected: string): Promise<void> {
  try {
    await page.waitForFunction(
      ([sel, want]) => document.querySelector(sel)?.textContent === want,
      [selector, expected] as const,
      { timeout: WAIT_MS, polling: 50 },
    );
  } catch (error) {
    const shown = await page.textContent(selector).catch(() => '(page gone)');
    throw new Error(`${page.url()}: ${selector} never showed ${JSON.stringify(expected)}; it shows ${JSON.stringify(shown)}`, { cause: error });
  }
}

/** Waits until some item of `#messages` reads `expected`. */
export async function waitForMessage(page: Page, expected: string): Promise<void> {
  try {
    await page.waitForFunction(
      (want) => Array.from(document.querySelectorAll('#messages li'), (li) => li.textContent).includes(want),
      expected,
      { timeout: WAIT_MS, polling: 50 },
    );
  } catch (error) {
    const shown = await messagesOf(page).catch(() => '(page gone)');
    throw new Error(`${page.url()}: #messages never listed ${JSON.stringify(expected)}; it lists ${JSON.stringify(shown)}`, { cause: error });
  }
}

/** The texts of a demo page's `#messages` items, newest first. */
export function messagesOf(page: Page): Promise<(string | null)[]> {
  return page.$$eval('#messages li', (items) => items.map((li) => li.textContent));
}

/** Waits until `selector` matches exactly `count` elements. */
export async function waitForCount(page: Page, selector: string, count: number): Promise<void> {
  try {
    await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length === n, [selector, count] as const, { timeout: WAIT_MS, polling: 50 });
  } catch (error) {
    const found = await page.$$eval(selector, (nodes) => nodes.length).catch(() => '(page gone)');
    throw new Error(`${page.url()}: ${selector} never matched ${count} elements; it matches ${found}`, { cause: error });
  }
}
