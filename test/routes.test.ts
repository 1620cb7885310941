// The public, notification and demo ports: formats, client scripts, and clear answers to bad input.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startDaemon, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { httpRequest } from './helpers/http.js';
import { openViewer, SseClient } from './helpers/sse-client.js';

/** Sends raw bytes and returns whatever comes back until the server closes or 1 s passes. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => { text += chunk; });
    const done = (): void => { socket.destroy(); resolve(text); };
    socket.on('close', done).on('error', done);
    setTimeout(done, 1000);
  });
}

describe('routes', () => {
  let daemon: Daemon;
  before(async () => { daemon = await startDaemon(['--notify-min-delay', '0.1'], { workers: 2, demo: true }); });
  after(async () => { await daemon.stop(); });

  test('a notification reaches every viewer of the namespace on every worker, and only them', async () => {
    const viewers = await Promise.all([1, 2, 3, 4].map(() => openViewer(daemon.port, '/live')));
    const bystander = await openViewer(daemon.port, '/elsewhere');
    await waitForMembers(daemon, 'live', 4);
    const reply = await httpRequest(daemon.notificationPort, '/live/chat/hello%20world');
    assert.equal(reply.status, 200);
    // Sent as 2.x did: service=message, raw.
    for (const v of viewers) await waitFor(() => v.events.some((e) => e.data === 'chat=hello%20world'), 3000, 'the notification');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(bystander.events.some((e) => e.data.includes('chat=')), false);
    for (const v of [...viewers, bystander]) v.close();
  });

  test('the notification port answers bad paths clearly', async () => {
    assert.equal((await httpRequest(daemon.notificationPort, '/only/two')).status, 404);
    assert.equal((await httpRequest(daemon.notificationPort, '/%ZZ/svc/msg')).status, 400);
    assert.equal((await httpRequest(daemon.notificationPort, '/ns/svc/msg', { method: 'DELETE' })).status, 405);
  });

  test('bad namespaces get 400 with a one-line reason and open no stream', async () => {
    for (const [path, reason] of [
      ['/', 'namespace is empty'],
      [`/${'x'.repeat(201)}`, 'namespace is longer than 200 bytes'],
      ['/a%0Ab', 'namespace contains a control character'],
      ['/%E0%A4%A', 'namespace is not valid percent-encoding'],
    ] as const) {
      const reply = await httpRequest(daemon.port, path, { headers: { Accept: 'text/event-stream' } });
      assert.equal(reply.status, 400, path);
      assert.equal(reply.body, `${reason}\n`);
    }
    const names = Object.keys(await daemon.stats());
    assert.equal(names.some((ns) => ns.startsWith('x') || ns.startsWith('a')), false);
  });

  test('other methods get 405, preflights get CORS headers', async () => {
    assert.equal((await httpRequest(daemon.port, '/ev', { method: 'PUT' })).status, 405);
    const preflight = await httpRequest(daemon.port, '/ev', { method: 'OPTIONS' });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], '*');
  });

  test('a non-stream request to /{namespace} answers 200 and empty, as 2.x did', async () => {
    const reply = await httpRequest(daemon.port, '/ev');
    assert.equal(reply.status, 200);
    assert.equal(reply.body, '');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal('ev' in (await daemon.stats()), false, 'no viewer was counted');
  });

  test('garbage on the public port gets an HTTP error, and the daemon keeps counting', async () => {
    assert.match(await rawExchange(daemon.port, 'NOT HTTP AT ALL\r\n\r\n'), /^HTTP\/1\.1 400/);
    assert.match(await rawExchange(daemon.port, `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`), /^HTTP\/1\.1 4\d\d/);
    const viewer = await openViewer(daemon.port, '/still-up');
    await waitForMembers(daemon, 'still-up', 1);
    viewer.close();
  });

  test('the client scripts are served, cacheable', async () => {
    for (const name of ['audience.js', 'jquery.audience.js']) {
      const reply = await httpRequest(daemon.port, `/client/${name}`);
      assert.equal(reply.status, 200);
      assert.match(String(reply.headers['content-type']), /javascript/);
      assert.match(String(reply.headers['cache-control']), /max-age=\d+/);
      const again = await httpRequest(daemon.port, `/client/${name}`, { headers: { 'If-None-Match': String(reply.headers.etag) } });
      assert.equal(again.status, 304);
    }
    assert.match((await httpRequest(daemon.port, '/client/audience.js')).body, /EventSource/);
  });

  test('the demo port serves a page for the namespace that loads the client from the public port', async () => {
    const reply = await httpRequest(daemon.demoPort, '/my%20event', { headers: { Host: `localhost:${daemon.demoPort}` } });
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /text\/html/);
    assert.ok(reply.body.includes(`http://localhost:${daemon.port}/client/audience.js`));
    assert.ok(reply.body.includes('"my event"'));
    const hostile = await httpRequest(daemon.demoPort, '/%3C%2Fscript%3E', { headers: { Host: '"><script>x' } });
    assert.equal(hostile.body.includes('</script>"'), false, 'the name cannot close the script element');
    assert.ok(hostile.body.includes('http://localhost:'), 'an unsafe Host header is not echoed');
  });

  test('a stream opened with POST (2.x jQuery client) works like GET', async () => {
    const viewer = new SseClient(daemon.port, '/posted', { method: 'POST' });
    await viewer.waitForEvents(1);
    assert.equal(viewer.counts()[0], 1);
    viewer.close();
  });
});
