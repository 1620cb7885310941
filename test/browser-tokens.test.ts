// Short-lived identity tokens in headless Chromium: a page gives audience.js a token() function that asks
// the site (this test's page server) for a fresh token, signed with the daemon's --auth-secret and valid a
// few seconds; a short --max-conn-duration forces reconnections past each token's expiry. The daemon must
// admit each reconnection with a new token (the admin API lists each token's name claim, numbered by the
// site) and refuse none (its debug output logs every refusal, which the test checks it would see), while
// the page's count keeps arriving over SSE and over WebSocket. Skips like browser.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openPage, servePages, SKIP, WAIT_MS, waitForText, type PageServer } from './helpers/browser.js';
import { startDaemon, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { httpRequest } from './helpers/http.js';
import { SseClient } from './helpers/sse-client.js';
import { AUTH_SECRET, signToken } from './helpers/tokens.js';

/** Token lifetime the site signs: with the daemon's 5 s clock tolerance, a token is refused 7 s after issue at most. */
const TOKEN_SECONDS = 2;
const MAX_CONN_SECONDS = 2;
/**
 * Refusals the daemon logs with --debug, on its three ways in: "401 on a stream request: …" (raw streams),
 * "401 /ns?token=…: …" (node:http), "401 on an upgrade: …" and "refused upgrade …" (WebSocket).
 */
const REFUSAL = / 401 (on a stream request|on an upgrade|\/)|refused upgrade/;

function tokenPage(publicPort: number, ns: string, transport: string): string {
  const meter = `http://127.0.0.1:${publicPort}`;
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>short tokens</title>
<script src="${meter}/client/audience.js"></script></head>
<body><p><span id="count">-</span> watching</p><script>
  window.counts = [];
  window.opens = 0;
  audience('${meter}/${ns}', {
    transport: '${transport}',
    token: function () {
      return fetch('/meter-token?ns=${ns}').then(function (r) { return r.text(); });
    }
  }).on('count', function (n) {
    window.counts.push(n);
    document.getElementById('count').textContent = String(n);
  }).on('open', function () { window.opens++; });
</script></body></html>
`;
}

interface Connection { name: string | null; user: string | null }

async function namesIn(daemon: Daemon, ns: string): Promise<string[]> {
  const reply = await httpRequest(daemon.notificationPort, `/api/connections?ns=${encodeURIComponent(ns)}`);
  return (JSON.parse(reply.body) as { connections: Connection[] }).connections.map((c) => c.name ?? '');
}

describe('browser: short-lived tokens refreshed before each connection', { skip: SKIP }, () => {
  let daemon: Daemon | undefined;
  let browser: Browser | undefined;
  let pageServer: PageServer | undefined;
  /** Every token the site issued, in order, per namespace. */
  const issued = new Map<string, string[]>();

  before(async () => {
    await Promise.all([
      startDaemon(['--auth-secret', AUTH_SECRET, '--require-auth', '--max-conn-duration', String(MAX_CONN_SECONDS),
        '--notify-min-delay', '0.1', '--notify-delta-ratio', '0', '--debug'], { workers: 2 }).then((d) => (daemon = d)),
      launchChromium().then((b) => (browser = b)),
      servePages(async (req, res) => {
        const url = new URL(req.url ?? '/', 'http://pages.test');
        const [, ns, transport] = /^\/page\/([a-z-]+)\/(sse|ws)$/.exec(url.pathname) ?? [];
        if (ns && transport && daemon) {
          res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(tokenPage(daemon.port, ns, transport));
        } else if (url.pathname === '/meter-token') {
          // The site's endpoint (docs/tokens.md): the logged-in user, a few seconds of validity. The name
          // claim numbers the token, so the daemon's own listing tells which token opened each connection.
          const ns = url.searchParams.get('ns') ?? '';
          const tokens = issued.get(ns) ?? [];
          issued.set(ns, tokens);
          const token = await signToken({ sub: 'ada', ns, name: `token ${tokens.length + 1}`, expiresIn: TOKEN_SECONDS });
          tokens.push(token);
          res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' }).end(token);
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

  test('over SSE and WebSocket: at least three tokens, no 401, counts throughout', { timeout: 90_000 }, async () => {
    const d = daemon!;
    const errors: string[] = [];
    const pages: Array<{ page: Page; ns: string }> = [];
    for (const [ns, transport] of [['short-sse', 'sse'], ['short-ws', 'ws']] as const) {
      pages.push({ page: await openPage(await browser!.newContext(), `http://127.0.0.1:${pageServer!.port}/page/${ns}/${transport}`, errors), ns });
    }
    const seen = new Map<string, Set<string>>(pages.map(({ ns }) => [ns, new Set<string>()]));
    const startedAt = Date.now();
    // Until each page has been admitted with three tokens, and the first one has been refusable for a while
    // (its expiry plus the daemon's clock tolerance), so later reconnections could only work with new ones.
    const firstRefusableAt = startedAt + (TOKEN_SECONDS + 5) * 1000;
    await waitFor(async () => {
      for (const { ns } of pages) for (const name of await namesIn(d, ns)) seen.get(ns)!.add(name);
      return Date.now() > firstRefusableAt + MAX_CONN_SECONDS * 1000 && [...seen.values()].every((names) => names.size >= 4);
    }, 60_000, 'each page to be admitted with four tokens');

    for (const { page, ns } of pages) {
      const names = seen.get(ns)!;
      assert.ok(names.size >= 3, `${ns}: the daemon saw ${[...names].join(', ')}`);
      assert.ok([...names].every((name) => /^token \d+$/.test(name)), `${ns}: every connection came with a site token`);
      const opens = await page.evaluate(() => (window as unknown as { opens: number }).opens);
      assert.ok(opens >= names.size, `${ns}: ${opens} connections opened for ${names.size} tokens`);
      // A count came with every connection, the latest ones included.
      const counts = await page.evaluate(() => (window as unknown as { counts: number[] }).counts.length);
      assert.ok(counts >= opens, `${ns}: ${counts} counts for ${opens} connections`);
    }
    assert.doesNotMatch(d.stderr(), REFUSAL, 'no reconnection was refused');

    // The page is live now: a second viewer (with a token of its own) shows up on it.
    const others = await Promise.all(pages.map(async ({ ns }) =>
      new SseClient(d.port, `/${ns}?token=${await signToken({ sub: 'bob', ns, expiresIn: 60 })}`)));
    try {
      for (const { page, ns } of pages) {
        await waitForMembers(d, ns, 2, WAIT_MS);
        await waitForText(page, '#count', '2');
      }
    } finally {
      for (const other of others) other.close();
    }

    // The check above would have seen a refusal: the first token, re-sent as a browser's own reconnection
    // would, is refused now and the daemon logs it.
    const stale = new SseClient(d.port, `/short-sse?token=${issued.get('short-sse')![0]}`);
    await stale.waitForResponse();
    assert.equal(stale.status, 401);
    stale.close();
    await waitFor(() => REFUSAL.test(d.stderr()), WAIT_MS, 'the daemon to log the refusal');
    for (const { page } of pages) await page.close();
    assert.deepEqual(errors, []);
  });
});
