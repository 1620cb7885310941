// The admin port against browsers on other sites and against API paths taken for notifications, on the
// real daemon: DNS-rebinding Hosts refused (a valid token passes), cross-site requests refused on every
// route that acts (the 2.x GET notification route included, tried for real from Chromium), curl-like
// requests unchanged, and nothing under /api/ ever a notification (404, 405 with Allow, JSON errors).
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startDaemon, waitFor, type Daemon } from './helpers/daemon.js';
import { launchChromium, servePages, SKIP, type PageServer } from './helpers/browser.js';
import { httpRequest, rawExchange, type Reply } from './helpers/http.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';

const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

/** A notification (`service=message`) a viewer received; counts are bare integers. */
const notifications = (viewer: SseClient): string[] => viewer.events.filter((e) => e.event === 'message' && e.data.includes('=')).map((e) => e.data);

/** One request with no Host header at all, as an HTTP/1.0 script sends it; resolves with the status line. */
async function http10(port: number, path: string): Promise<string> {
  return (await rawExchange(port, `GET ${path} HTTP/1.0\r\n\r\n`)).split('\r\n')[0]!;
}

/** A one-line JSON error, as every /api/ refusal must be. */
function assertJsonError(reply: Reply, status: number, reason?: RegExp): void {
  assert.equal(reply.status, status, reply.body);
  assert.match(String(reply.headers['content-type']), /^application\/json/);
  assert.equal(reply.body.trim().split('\n').length, 1);
  const body = JSON.parse(reply.body) as { error?: unknown };
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(typeof body.error, 'string');
  if (reason) assert.match(body.error as string, reason);
}

describe('admin port without a token: Host and cross-site rules', () => {
  let daemon: Daemon;
  let viewer: SseClient;
  let apiViewer: SseClient;
  const admin = (path: string, headers: Record<string, string> = {}, method = 'GET', body = ''): Promise<Reply> =>
    httpRequest(daemon.notificationPort, path, { method, headers, body });

  before(async () => {
    daemon = await startDaemon(['--admin-hosts', 'admin.example.org,ops.example.org', '--notify-min-delay', '0.1'], { workers: 1 });
    viewer = await openViewer(daemon.port, '/ev');
    apiViewer = await openViewer(daemon.port, '/api');
  });
  after(async () => {
    viewer?.close();
    apiViewer?.close();
    await daemon?.stop();
  });

  /** Sends `marker` the curl way and waits for it: whatever was delivered before it has arrived too. */
  async function settle(marker: string): Promise<void> {
    assert.equal((await admin(`/ev/sync/${marker}`)).status, 200);
    await waitFor(() => notifications(viewer).includes(`sync=${marker}`), 5000, `the notification ${marker}`);
  }

  test('curl-like requests (no Origin, no Sec-Fetch-Site) keep working, HTTP/1.0 without Host too', async () => {
    assert.equal((await admin('/ev/svc/curl')).status, 200);
    await waitFor(() => notifications(viewer).includes('svc=curl'), 5000, 'the curl notification');
    assert.match(await http10(daemon.notificationPort, '/ev/svc/http10'), / 200 /);
    await waitFor(() => notifications(viewer).includes('svc=http10'), 5000, 'the HTTP/1.0 notification');
    assert.equal((await admin('/api/connections')).status, 200);
    for (const host of ['localhost', `localhost:${daemon.notificationPort}`, '127.0.0.1', '[::1]:2442', 'app.localhost', 'ADMIN.example.org', 'ops.example.org:443']) {
      assert.equal((await admin('/api/namespaces', { Host: host })).status, 200, host);
    }
  });

  test('HTTP/0.9 and HTTP/2.0 request lines get 400 and send nothing; CONNECT gets 405', async () => {
    // node:http parses both as requests it would serve: a notification without Host, Origin or version.
    for (const head of ['GET /ev/svc/v09\r\n\r\n', 'GET /ev/svc/v20 HTTP/2.0\r\nHost: localhost\r\n\r\n']) {
      assert.match(await rawExchange(daemon.notificationPort, head), /^HTTP\/1\.1 400 [^\r]*\r\n[^]*\r\n\r\nnot an HTTP\/1\.x request/, JSON.stringify(head));
    }
    assert.match(await rawExchange(daemon.notificationPort, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'), /^HTTP\/1\.1 405 /);
    await settle('after-versions');
    assert.deepEqual(notifications(viewer).filter((n) => /^svc=v(09|20)$/.test(n)), []);
  });

  test('a Host that is not a name of this port gets 403 with a reason, on every route', async () => {
    const listing = await admin('/api/connections', { Host: 'attacker.example' });
    assertJsonError(listing, 403, /^Host attacker\.example is not a name of this admin port/);
    assert.doesNotMatch(listing.body, /ev|connections"/);
    const notification = await admin('/ev/svc/rebound', { Host: `attacker.example:${daemon.notificationPort}` });
    assert.equal(notification.status, 403);
    assert.match(notification.headers['content-type'] as string, /^text\/plain/);
    assert.match(notification.body, /^Host attacker\.example is not a name of this admin port[^\n]*\n$/);
    for (const host of ['10.1.2.3', 'admin.example.org.evil', 'a b', 'localhost@evil']) assert.equal((await admin('/api/namespaces', { Host: host })).status, 403, host);
    assert.equal((await admin('/admin', { Host: 'attacker.example' })).status, 403, 'the admin page too');
    await settle('after-hosts');
    assert.ok(!notifications(viewer).includes('svc=rebound'));
  });

  test('cross-site requests are refused on the routes that act, and still served on those that read', async () => {
    const port = daemon.notificationPort;
    const forgeries: Record<string, string>[] = [{ 'Sec-Fetch-Site': 'cross-site' }, { 'Sec-Fetch-Site': 'same-site' }, { Origin: 'http://attacker.example' }, { Origin: 'null' }, { Origin: `http://localhost:${port}` }];
    for (const headers of forgeries) {
      const reply = await admin('/ev/svc/forged', headers);
      assert.equal(reply.status, 403, JSON.stringify(headers));
      assert.match(reply.body, /^cross-site request refused \([^\n]*\)\n$/);
      const message = await admin('/api/namespaces/ev/messages', { 'Content-Type': 'application/json', ...headers }, 'POST', '{"event":"offer","data":"forged"}');
      assertJsonError(message, 403, /^cross-site request refused/);
    }
    // The admin page's own requests, and a page typed in the address bar.
    assert.equal((await admin('/ev/svc/own', { Origin: `http://127.0.0.1:${port}`, 'Sec-Fetch-Site': 'same-origin' })).status, 200);
    assert.equal((await admin('/ev/svc/typed', { 'Sec-Fetch-Site': 'none' })).status, 200);
    assert.equal((await admin('/ev/svc/proxied', { Origin: 'https://admin.example.org' })).status, 200, 'an operator name in --admin-hosts');
    // Reading is not acting: no CORS header lets another site read the answer anyway.
    const read = await admin('/api/namespaces', { 'Sec-Fetch-Site': 'cross-site' });
    assert.equal(read.status, 200);
    assert.equal(read.headers['access-control-allow-origin'], undefined);
    await settle('after-cross-site');
    assert.deepEqual(notifications(viewer).filter((n) => n.startsWith('svc=')), ['svc=curl', 'svc=http10', 'svc=own', 'svc=typed', 'svc=proxied']);
  });

  test('an <img> on pages of another site, in Chromium, delivers nothing', { skip: SKIP }, async () => {
    // The browser talks to a relay of the test's own in front of the admin port: it shows that the request
    // really left Chromium, with which headers, and what the daemon answered.
    const seen: { request: string; response: string }[] = [];
    const relay: Server = createServer((client: Socket) => {
      const exchange = { request: '', response: '' };
      seen.push(exchange);
      const upstream = connect(daemon.notificationPort, '127.0.0.1');
      client.on('data', (chunk: Buffer) => { exchange.request += chunk.toString('latin1'); upstream.write(chunk); });
      upstream.on('data', (chunk: Buffer) => { exchange.response += chunk.toString('latin1'); client.write(chunk); });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const relayPort = (relay.address() as { port: number }).port;
    let pages: PageServer | undefined;
    const browser = await launchChromium();
    try {
      pages = await servePages((req, res) => {
        const tag = req.url === '/same-site' ? 'same-site' : 'cross-site';
        const html = `<!doctype html><title>${tag}</title><img id="probe" src="http://127.0.0.1:${relayPort}/ev/svc/${tag}">`;
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end(html);
      });
      const page = await browser.newPage();
      // `localhost` is another site than 127.0.0.1; another port of 127.0.0.1 is the same site, another program.
      for (const url of [`http://localhost:${pages.port}/cross-site`, `http://127.0.0.1:${pages.port}/same-site`]) {
        await page.goto(url);
        // The image fails to load (a 403 is no image): the answer came back.
        await page.waitForFunction(() => { const img = document.getElementById('probe') as HTMLImageElement; return img.complete; }, undefined, { timeout: 10_000 });
      }
      await waitFor(() => seen.filter((s) => / 403 /.test(s.response.split('\r\n')[0] ?? '')).length >= 2, 5000, 'both answers to pass the relay');
      for (const tag of ['cross-site', 'same-site']) {
        const exchange = seen.find((s) => s.request.startsWith(`GET /ev/svc/${tag} `));
        assert.ok(exchange, `Chromium sent the ${tag} request`);
        assert.match(exchange.request, new RegExp(`\\r\\nsec-fetch-site: ${tag}\\r\\n`, 'i'));
        assert.match(exchange.response, /^HTTP\/1\.1 403 /);
      }
      await settle('after-browser');
      assert.ok(!notifications(viewer).some((n) => n === 'svc=cross-site' || n === 'svc=same-site'), `no notification reached the viewer: ${notifications(viewer)}`);
    } finally {
      await browser.close();
      await pages?.close();
      relay.close();
    }
  });

  test('no path under /api/ is ever a notification: 404 and 405 with Allow, in JSON', async () => {
    // Percent-encoded spellings of the same paths (RFC 3986) too.
    for (const path of ['/api/namespaces/x', '/api/foo/bar', '/api/peers/x', '/api/connections/x/y', '/api', '/api/', '/api/a/b/c/d/e', '/%61pi/namespaces/x', '/ap%69/foo/bar']) {
      assertJsonError(await admin(path), 404, /^no such API route$/);
    }
    const wrongMethod = await admin('/api/namespaces/ev/messages');
    assertJsonError(wrongMethod, 405, /POST/);
    assert.equal(wrongMethod.headers.allow, 'POST');
    const postToList = await admin('/api/namespaces', { 'Content-Type': 'application/json' }, 'POST', '{}');
    assertJsonError(postToList, 405);
    assert.equal(postToList.headers.allow, 'GET');
    assertJsonError(await admin('/api/connections?limit=-1'), 400, /limit/);
    assertJsonError(await admin('/api/namespaces/ev/messages', { 'Content-Type': 'application/json' }, 'POST', '{"event":'), 400, /JSON/);
    // The 2.x routes keep their plain answers.
    const short = await admin('/ev/svc');
    assert.equal(short.status, 404);
    assert.equal(short.body, 'expected /{namespace}/{service}/{message}\n');
    assert.match(String(short.headers['content-type']), /^text\/plain/);
    const wrong = await admin('/ev/svc/x', {}, 'POST');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.allow, 'GET');
    assert.match(String(wrong.headers['content-type']), /^text\/plain/);
    // Viewers of a namespace named `api` got none of it; the API can still reach them.
    const sent = await admin('/api/namespaces/api/messages', { 'Content-Type': 'application/json' }, 'POST', '{"event":"sync","data":"api-done"}');
    assert.equal(sent.status, 200, sent.body);
    await waitFor(() => apiViewer.events.some((e) => e.event === 'sync' && e.data === 'api-done'), 5000, 'the API message');
    assert.deepEqual(notifications(apiViewer), []);
  });
});

describe('admin port with a token', () => {
  let daemon: Daemon;
  before(async () => {
    daemon = await startDaemon(['--admin-token', ADMIN_TOKEN], { workers: 1 });
  });
  after(async () => { await daemon?.stop(); });

  test('a valid token passes the Host check; errors under /api/ are JSON, 401 included', async () => {
    const port = daemon.notificationPort;
    const withToken = await httpRequest(port, '/api/namespaces', { headers: { Host: 'admin.internal.example', Authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(withToken.status, 200, withToken.body);
    assertJsonError(await httpRequest(port, '/api/namespaces', { headers: { Host: 'admin.internal.example', Authorization: 'Bearer wrong-token-0123456789' } }), 403, /^Host admin\.internal\.example/);
    assertJsonError(await httpRequest(port, '/api/namespaces'), 401, /bearer token/);
    assertJsonError(await httpRequest(port, '/api/nothing-here'), 401);
    const plain = await httpRequest(port, '/ev/svc/msg');
    assert.equal(plain.status, 401);
    assert.match(String(plain.headers['content-type']), /^text\/plain/);
  });
});
