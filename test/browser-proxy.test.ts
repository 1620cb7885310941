// Behind a real nginx configured as docs/proxies.md says: pages using audience.js over SSE and over
// WebSocket, and a 2.x page using jquery.audience.js, keep counting across a daemon restart, without a
// reload. While the daemon is down nginx answers the browsers' reconnections with 502, after which
// EventSource gives up for good: the test waits until nginx has given each page that answer before starting
// the daemon again, so only the client's own reconnection can bring the counts back. Skips with a reason
// without Chromium or nginx (fails under CI=true).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { JQUERY, launchChromium, openPage, servePages, SKIP, WAIT_MS, waitForText, type PageServer } from './helpers/browser.js';
import { startDaemon, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { SKIP_NGINX, startNginx, type Nginx } from './helpers/nginx.js';
import { SseClient } from './helpers/sse-client.js';

const FAST = ['--notify-min-delay', '0.1', '--notify-delta-ratio', '0'];

function meterPage(meter: string, ns: string, transport: string): string {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>behind nginx</title>
<script src="${meter}/client/audience.js"></script></head>
<body><p><span id="count">-</span> watching</p><script>
  window.loadedOnce = true;
  audience('${meter}/${ns}', { transport: '${transport}' })
    .on('count', function (n) { document.getElementById('count').textContent = String(n); });
</script></body></html>
`;
}

/** A page written for 2.x: jQuery and jquery.audience.js, which runs on audience.js. */
function legacyPage(meter: string, ns: string): string {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>2.x embed behind nginx</title>
<script src="/jquery.js"></script>
<script src="${meter}/client/jquery.audience.js"></script></head>
<body><p><span id="count">-</span> watching</p><script>
  window.loadedOnce = true;
  $.audience('${meter}/${ns}').progress(function (line) { document.getElementById('count').textContent = line; });
</script></body></html>
`;
}

/** Lines of nginx's access log for requests to `/ns` that it answered with `status`. */
function answered(nginx: Nginx, ns: string, status: number): number {
  return nginx.accessLog().split('\n').filter((line) => line.includes(` /${ns}`) && line.includes(`" ${status} `)).length;
}

describe('browser: behind nginx, a daemon restart', { skip: SKIP || SKIP_NGINX }, () => {
  let daemon: Daemon | undefined;
  let nginx: Nginx | undefined;
  let browser: Browser | undefined;
  let pageServer: PageServer | undefined;

  before(async () => {
    await Promise.all([
      startDaemon(FAST, { workers: 2 }).then(async (d) => { daemon = d; nginx = await startNginx(d.port); }),
      launchChromium().then((b) => (browser = b)),
      servePages((req, res) => {
        const [, ns, transport] = /^\/page\/([a-z-]+)\/(sse|ws|legacy)$/.exec(req.url ?? '') ?? [];
        const meter = `http://127.0.0.1:${nginx?.port}`;
        if (req.url === '/jquery.js') {
          res.writeHead(200, { 'Content-Type': 'application/javascript; charset=utf-8' }).end(JQUERY);
        } else if (ns && transport && nginx) {
          res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(transport === 'legacy' ? legacyPage(meter, ns) : meterPage(meter, ns, transport));
        } else {
          res.writeHead(404).end();
        }
      }).then((server) => (pageServer = server)),
    ]);
  });

  after(async () => {
    await browser?.close();
    await nginx?.stop();
    await daemon?.stop();
    await pageServer?.close();
  });

  test('SSE, WebSocket and 2.x jQuery pages are counted again without a reload', { timeout: 90_000 }, async () => {
    const errors: string[] = [];
    const pages: Array<{ page: Page; ns: string }> = [];
    for (const [ns, transport] of [['proxied-sse', 'sse'], ['proxied-ws', 'ws'], ['proxied-legacy', 'legacy']] as const) {
      pages.push({ page: await openPage(await browser!.newContext(), `http://127.0.0.1:${pageServer!.port}/page/${ns}/${transport}`, errors), ns });
    }
    for (const { page, ns } of pages) {
      await waitForMembers(daemon!, ns, 1, WAIT_MS);
      await waitForText(page, '#count', '1');
    }
    assert.equal(answered(nginx!, 'proxied-sse', 200), 0, 'the SSE stream is still open (logged when it ends)');

    const ports = { port: daemon!.port, statsPort: daemon!.statsPort, notificationPort: daemon!.notificationPort, demoPort: daemon!.demoPort };
    await daemon!.stop();
    // Each page's reconnection meets the daemon's absence: nginx answers it 502.
    await waitFor(() => pages.every(({ ns }) => answered(nginx!, ns, 502) >= 1), 30_000,
      'nginx to answer every page 502 while the daemon is down');
    daemon = await startDaemon(FAST, { workers: 2, ports });

    // The pages come back by themselves (the client's backoff is at most a few seconds at this point).
    for (const { ns } of pages) await waitForMembers(daemon, ns, 1, 30_000);
    // And they are live again: a second viewer of each namespace shows up on the page.
    const others = pages.map(({ ns }) => new SseClient(nginx!.port, `/${ns}`));
    try {
      for (const { page, ns } of pages) {
        await waitForMembers(daemon, ns, 2, WAIT_MS);
        await waitForText(page, '#count', '2');
        assert.equal(await page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce), true, 'the page was not reloaded');
      }
    } finally {
      for (const other of others) other.close();
      for (const { page } of pages) await page.close();
    }
    assert.deepEqual(errors, []);
  });
});
