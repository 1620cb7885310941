// audience.js over WebSocket in headless Chromium against the real daemon: counts, the page a single-page
// app reports as it navigates, and a targeted message to that one connection. Skips like browser.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, servePages, SKIP, WAIT_MS, type PageServer } from './helpers/browser.js';
import { httpRequest } from './helpers/http.js';
import { startDaemon, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { openViewer } from './helpers/sse-client.js';

function spaPage(publicPort: number, ns: string): string {
  const server = `http://127.0.0.1:${publicPort}`;
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>ws client</title>
<script src="${server}/client/audience.js"></script></head>
<body><script>
  window.counts = [];
  window.messages = [];
  window.meter = audience('${server}/${ns}', { transport: 'ws' })
    .on('count', function (n) { window.counts.push(n); })
    .on('message', function (m) { window.messages.push(m.event + ':' + m.data); });
</script></body></html>
`;
}

interface Connection { id: string; transport: string; page: string | null }

async function connectionsIn(daemon: Daemon, ns: string): Promise<Connection[]> {
  return (JSON.parse((await httpRequest(daemon.notificationPort, `/api/connections?ns=${ns}`)).body) as { connections: Connection[] }).connections;
}

describe('browser: audience.js over WebSocket', { skip: SKIP }, () => {
  let daemon: Daemon | undefined;
  let browser: Browser | undefined;
  let pageServer: PageServer | undefined;

  before(async () => {
    await Promise.all([
      startDaemon(['--notify-min-delay', '0.1', '--notify-delta-ratio', '0'], { workers: 2 }).then((d) => (daemon = d)),
      launchChromium().then((b) => (browser = b)),
      servePages((req, res) => {
        const ns = /^\/spa\/([a-z-]+)\/start$/.exec(req.url ?? '')?.[1];
        if (ns && daemon) res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(spaPage(daemon.port, ns));
        else res.writeHead(404).end();
      }).then((server) => (pageServer = server)),
    ]);
  });

  after(async () => {
    await browser?.close();
    await daemon?.stop();
    await pageServer?.close();
  });

  test('counts, page changes and a targeted message', { timeout: 30_000 }, async () => {
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`http://127.0.0.1:${pageServer!.port}/spa/ws-browser/start`);
    await page.waitForFunction(() => (window as unknown as { counts: number[] }).counts.at(-1) === 1, undefined, { timeout: WAIT_MS });
    const other = await openViewer(daemon!.port, '/ws-browser');
    await page.waitForFunction(() => (window as unknown as { counts: number[] }).counts.at(-1) === 2, undefined, { timeout: WAIT_MS });

    // The page it opened on travels with the upgrade; later ones as page messages.
    await waitFor(async () => (await connectionsIn(daemon!, 'ws-browser')).some((c) => c.transport === 'ws' && c.page === '/spa/ws-browser/start'), WAIT_MS, 'the first page');
    assert.equal(await page.evaluate(() => (window as unknown as { meter: { page(p: string): boolean } }).meter.page('/spa/ws-browser/checkout')), true);
    await waitFor(async () => (await connectionsIn(daemon!, 'ws-browser')).some((c) => c.page === '/spa/ws-browser/checkout'), WAIT_MS, 'the page change');

    const ws = (await connectionsIn(daemon!, 'ws-browser')).find((c) => c.transport === 'ws')!;
    const body = JSON.stringify({ event: 'offer', data: 'free shipping' });
    const reply = await httpRequest(daemon!.notificationPort, `/api/connections/${ws.id}/messages`, {
      method: 'POST', body, headers: { 'Content-Type': 'application/json', 'Content-Length': String(body.length) },
    });
    assert.deepEqual(JSON.parse(reply.body), { delivered: 1 });
    await page.waitForFunction(() => (window as unknown as { messages: string[] }).messages.includes('offer:free shipping'), undefined, { timeout: WAIT_MS });
    assert.equal(other.events.some((e) => e.event === 'offer'), false);

    await page.close();
    await waitForMembers(daemon!, 'ws-browser', 1);
    other.close();
    assert.deepEqual(errors, []);
  });
});
