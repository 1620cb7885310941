// Real pages in headless Chromium against the real daemon: the demo page, and a page written for 2.x
// (jQuery plus jquery.audience.js). Skips with a reason when /usr/bin/chromium is missing, except under
// CI=true, where a missing browser is a failure: CI installs it.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { JQUERY, launchChromium, openPage, OUTPUT_DIR, servePages, SKIP, WAIT_MS, waitForMessage, waitForText, type PageServer } from './helpers/browser.js';
import { httpStatus } from './helpers/http.js';
import { startDaemon, waitForMembers, type Daemon } from './helpers/daemon.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';

/** The 2.x embed, verbatim, plus test hooks that only record what the page sees. */
function legacyPage(publicPort: number, ns: string): string {
  const server = `http://127.0.0.1:${publicPort}`;
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>2.x embed</title>
<script src="/jquery.js"></script>
<script src="${server}/client/jquery.audience.js"></script>
</head>
<body>
<p><span id="total">-</span> watching</p>
<script>
  var meter = $.audience('${server}/${ns}').progress(function(total){ document.getElementById('total').innerHTML = total; });
  // Test hooks.
  window.lines = [];
  window.meterDone = false;
  meter.progress(function (line) { window.lines.push(line); });
  meter.done(function () { window.meterDone = true; });
</script>
</body>
</html>
`;
}

describe('browser', { skip: SKIP }, () => {
  let daemon: Daemon | undefined;
  let browser: Browser | undefined;
  let pageServer: PageServer | undefined;
  const pageErrors: string[] = [];

  before(async () => {
    await Promise.all([
      startDaemon(['--notify-min-delay', '0.1', '--notify-delta-ratio', '0'], { workers: 2, demo: true }).then((d) => (daemon = d)),
      launchChromium().then((b) => (browser = b)),
      servePages((req, res) => {
        if (req.url === '/jquery.js') {
          res.writeHead(200, { 'Content-Type': 'application/javascript; charset=utf-8' }).end(JQUERY);
        } else if (req.url?.startsWith('/legacy/') && daemon) {
          res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(legacyPage(daemon.port, req.url.slice('/legacy/'.length)));
        } else {
          res.writeHead(404).end();
        }
      }).then((server) => (pageServer = server)),
    ]);
  });

  after(async () => {
    await browser?.close();
    await daemon?.stop();
    await pageServer?.close();
  });

  test('two demo pages count each other, get notifications, and see a viewer leave', { timeout: 30_000 }, async () => {
    const d = daemon!;
    const url = `http://127.0.0.1:${d.demoPort}/launch%20party`;
    const contexts = [await browser!.newContext(), await browser!.newContext()];
    try {
      const [first, second] = [await openPage(contexts[0]!, url, pageErrors), await openPage(contexts[1]!, url, pageErrors)];
      await waitForMembers(d, 'launch party', 2, WAIT_MS);
      for (const page of [first, second]) {
        await waitForText(page, '#count', '2');
        await waitForText(page, '#status', 'live');
        assert.equal(await page.textContent('#namespace'), 'launch party');
      }

      assert.equal(await httpStatus(d.notificationPort, '/launch%20party/chat/hello'), 200);
      for (const page of [first, second]) await waitForMessage(page, 'chat: hello');

      mkdirSync(OUTPUT_DIR, { recursive: true });
      await first.screenshot({ path: new URL('demo-page.png', OUTPUT_DIR).pathname, fullPage: true });

      await contexts[1]!.close();
      await waitForMembers(d, 'launch party', 1, WAIT_MS);
      await waitForText(first, '#count', '1');
      assert.deepEqual(pageErrors, []);
    } finally {
      await Promise.all(contexts.map((c) => c.close()));
    }
  });

  test('a 2.x page (jQuery + jquery.audience.js) shows the count, follows it, and closes', { timeout: 30_000 }, async () => {
    const d = daemon!;
    const ns = 'legacy-embed';
    const context = await browser!.newContext();
    let viewer: SseClient | undefined;
    try {
      const page = await openPage(context, `http://127.0.0.1:${pageServer!.port}/legacy/${ns}`, pageErrors);
      await waitForMembers(d, ns, 1, WAIT_MS);
      await waitForText(page, '#total', '1');

      viewer = await openViewer(d.port, `/${ns}`);
      await waitForMembers(d, ns, 2, WAIT_MS);
      await waitForText(page, '#total', '2');

      // Notifications reach 2.x pages as the raw "service=message" line.
      assert.equal(await httpStatus(d.notificationPort, `/${ns}/chat/hello%20world`), 200);
      await page.waitForFunction(() => (window as unknown as { lines: string[] }).lines.includes('chat=hello%20world'), undefined,
        { timeout: WAIT_MS, polling: 50 });
      const lines = await page.evaluate(() => (window as unknown as { lines: string[] }).lines);
      assert.equal(lines[0], '1', 'the first line is the count including this page');
      assert.ok(lines.every((line) => typeof line === 'string'), '2.x gave strings');

      await page.evaluate(() => (window as unknown as { meter: { close(): void } }).meter.close());
      await waitForMembers(d, ns, 1, WAIT_MS);
      assert.equal(await page.evaluate(() => (window as unknown as { meterDone: boolean }).meterDone), true, 'done() callbacks run on close');
      await viewer.waitForCount(1, WAIT_MS);
      assert.deepEqual(pageErrors, []);
    } finally {
      viewer?.close();
      await context.close();
    }
  });
});
