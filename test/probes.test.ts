// GET /healthz and /readyz on the public port (docs/load-balancers.md): their answers on both ways in (the raw
// fast path and node:http), never a viewer nor a namespace, the names refused as namespaces; and what they
// answer through a drain (--drain-seconds) on SIGTERM and SIGINT, a second signal cutting it short.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { parsePrimaryMessage } from '../src/protocol/ipc.js';
import { planDrain } from '../src/primary/drain.js';
import { DRAINING_REASON, NOT_JOINED_REASON, Readiness, STARTING_REASON, type ReadinessMessage } from '../src/primary/readiness.js';
import { routeRequest, routeUpgrade } from '../src/worker/routes.js';
import { STORES } from './helpers/attendance-stores.js';
import { startDaemon, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { httpRequest } from './helpers/http.js';
import { retriesOf } from './helpers/reconnecting-viewer.js';
import { openViewer } from './helpers/sse-client.js';
import { openWsViewer, wsRefusal } from './helpers/ws-client.js';

/** Sends raw bytes and returns everything until the server closes. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let text = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => { text += chunk; });
    socket.on('end', () => resolve(text)).on('error', reject);
    socket.setTimeout(5000, () => { socket.destroy(); reject(new Error(`no end after: ${text}`)); });
  });
}

describe('probe routes', () => {
  test('/healthz and /readyz are probes for any plain request, whatever the uuid setting', () => {
    for (const enableUuid of [false, true]) {
      for (const method of ['GET', 'HEAD', 'POST']) {
        assert.deepEqual(routeRequest(method, '/healthz', '*/*', enableUuid), { kind: 'probe', probe: 'healthz' });
        assert.deepEqual(routeRequest(method, '/readyz?from=haproxy', undefined, enableUuid), { kind: 'probe', probe: 'readyz' });
      }
    }
    // Percent-encoding names the same namespace, so it names the same probe.
    assert.deepEqual(routeRequest('GET', '/%72eadyz', undefined, false), { kind: 'probe', probe: 'readyz' });
  });

  test('they are not namespaces: a stream, an upgrade or a uuid under them is a 404 that says why', () => {
    const reserved = { kind: 'error', status: 404, reason: "/healthz is the load balancers' probe, not a namespace" };
    assert.deepEqual(routeRequest('GET', '/healthz', 'text/event-stream', false), reserved);
    assert.deepEqual(routeRequest('GET', '/healthz/some-uuid', 'text/event-stream', true), reserved);
    assert.deepEqual(routeRequest('GET', '/healthz/some-uuid', undefined, true), reserved);
    assert.deepEqual(routeUpgrade('GET', '/healthz', false), reserved);
    // Neighbours stay namespaces.
    assert.equal(routeRequest('GET', '/healthz2', 'text/event-stream', false).kind, 'stream');
    assert.equal(routeRequest('GET', '/Healthz', 'text/event-stream', false).kind, 'stream');
  });
});

describe('readiness and the drain plan', () => {
  test('ready once every worker listens and the cluster is joined (for good); never again once draining', () => {
    let joined = false;
    const told: ReadinessMessage[] = [];
    const readiness = new Readiness(() => joined, (m) => told.push(m));
    assert.deepEqual(readiness.current(), { type: 'readiness', ready: false, reason: STARTING_REASON });
    readiness.listen();
    assert.deepEqual(told, [{ type: 'readiness', ready: false, reason: NOT_JOINED_REASON }]);
    readiness.check();
    assert.equal(told.length, 1, 'told only of changes');
    joined = true;
    readiness.check();
    assert.deepEqual(told.at(-1), { type: 'readiness', ready: true, reason: 'ready' });
    joined = false;
    readiness.check();
    assert.deepEqual(told.at(-1), { type: 'readiness', ready: true, reason: 'ready' }, 'an engine outage later does not make every node unready');
    readiness.drain();
    readiness.check();
    assert.deepEqual(told.slice(-1), [{ type: 'readiness', ready: false, reason: DRAINING_REASON }]);
    assert.equal(readiness.ready, false);
  });

  test('the first quarter of the window is the notice, the rest the spread', () => {
    assert.deepEqual(planDrain(30), { noticeMs: 7500, spreadMs: 22_500 });
    assert.deepEqual(planDrain(0.4), { noticeMs: 100, spreadMs: 300 });
    assert.deepEqual(planDrain(0), { noticeMs: 0, spreadMs: 0 });
  });

  test('the IPC messages are validated', () => {
    assert.ok(parsePrimaryMessage({ type: 'readiness', ready: false, reason: 'draining' }));
    assert.equal(parsePrimaryMessage({ type: 'readiness', ready: 'no', reason: 'x' }), undefined);
    assert.equal(parsePrimaryMessage({ type: 'readiness', ready: false, reason: 'two\r\nlines' }), undefined);
    assert.equal(parsePrimaryMessage({ type: 'readiness', ready: false, reason: '' }), undefined);
    assert.ok(parsePrimaryMessage({ type: 'drain', ms: 3000, retryMs: 1000 }));
    assert.equal(parsePrimaryMessage({ type: 'drain', ms: -1, retryMs: 1000 }), undefined);
    assert.equal(parsePrimaryMessage({ type: 'drain', ms: 3000 }), undefined);
  });
});

describe('probes on a running daemon', () => {
  let daemon: Daemon;
  before(async () => { daemon = await startDaemon(['--notify-min-delay', '0.1', '--enable-uuid'], { workers: 2 }); });
  after(async () => { await daemon.stop(); });

  test('the raw path answers one line, 200, and closes', async () => {
    const healthz = await rawExchange(daemon.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(healthz, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(healthz, /\r\nConnection: close\r\n/);
    assert.match(healthz, /\r\n\r\nalive\n$/);
    assert.match(await rawExchange(daemon.port, 'GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n'), /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nready\n$/);
  });

  test('node:http answers the same: HEAD, and pipelined probes', async () => {
    const head = await httpRequest(daemon.port, '/readyz', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    const pipelined = await rawExchange(daemon.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const answers = pipelined.split(/(?=HTTP\/1\.1 )/);
    assert.equal(answers.length, 2, pipelined);
    assert.match(answers[0]!, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nalive\n$/);
    assert.match(answers[1]!, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nready\n$/);
  });

  test('probes are never viewers, namespaces or joins', async () => {
    const viewer = await openViewer(daemon.port, '/watched');
    await waitForMembers(daemon, 'watched', 1);
    const probes = Array.from({ length: 20 }, (_, i) => i % 2 === 0 ? '/healthz' : '/readyz');
    const replies = await Promise.all([
      ...probes.map((path) => httpRequest(daemon.port, path)),
      ...probes.map((path) => rawExchange(daemon.port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`)),
    ]);
    assert.equal(replies.length, 40);
    // A stream opened after the probes sees the same namespaces as before them, and one join more only.
    const later = await openViewer(daemon.port, '/watched');
    await waitForMembers(daemon, 'watched', 2);
    const stats = await daemon.stats();
    assert.deepEqual(Object.keys(stats).sort(), ['watched']);
    assert.equal(stats.watched!.connections, 2);
    viewer.close();
    later.close();
  });

  test('a 2.x page whose namespace is a probe name gets a 404 that says why, on either transport', async () => {
    for (const path of ['/healthz', '/readyz', '/readyz/a-uuid']) {
      const reply = await httpRequest(daemon.port, path, { headers: { Accept: 'text/event-stream' } });
      assert.equal(reply.status, 404, path);
      assert.match(reply.body, /is the load balancers' probe, not a namespace\n$/);
    }
    const refusal = await wsRefusal(daemon.port, '/healthz');
    assert.equal(refusal.status, 404);
    assert.match(refusal.body, /^\/healthz is the load balancers' probe, not a namespace/);
    assert.deepEqual(Object.keys(await daemon.stats()).filter((ns) => ns.endsWith('z')), []);
  });
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} with --drain-seconds: readyz 503 at once, healthz 200, streams end spread out with retry:, exit 0`, async () => {
    const store = await STORES.find((kind) => kind.name === 'sqlite')!.create();
    after(() => store.cleanup());
    const daemon = await startDaemon(['--drain-seconds', '3', '--attendance', store.target], { workers: 2 });
    const viewers = await Promise.all(Array.from({ length: 20 }, () => openViewer(daemon.port, '/drained')));
    const wsViewer = await openWsViewer(daemon.port, '/drained');
    await waitForMembers(daemon, 'drained', 21);
    daemon.process.kill(signal);
    await waitFor(async () => (await httpRequest(daemon.port, '/readyz')).status === 503, 5000, 'readyz to answer 503');
    const readyz = await httpRequest(daemon.port, '/readyz');
    assert.equal(readyz.body, `${DRAINING_REASON}\n`);
    assert.deepEqual(await httpRequest(daemon.port, '/healthz').then((r) => [r.status, r.body]), [200, 'alive\n']);
    // Still taking viewers while the balancers notice: none is refused.
    const late = await openViewer(daemon.port, '/drained');
    viewers.push(late);
    // Not one wave: when the first stream ends, most of the others are still open.
    await waitFor(() => viewers.some((v) => v.ended), 10_000, 'the first stream to end');
    const openWhenFirstEnded = viewers.filter((v) => !v.ended).length;
    assert.ok(openWhenFirstEnded >= viewers.length / 2, `${openWhenFirstEnded} of ${viewers.length} open when the first ended`);
    assert.equal(await daemon.exited, 0);
    for (const viewer of viewers) {
      assert.equal(viewer.ended, true);
      // The first frame's retry: (drawn per connection), then the drain's own just before the end.
      const retries = retriesOf(viewer.body);
      assert.equal(retries.length, 2, `the first frame's retry: and the drain's (${retries.join(', ')})`);
      assert.ok(retries[1]! >= 500 && retries[1]! <= 1500, `a retry: of 0.5 to 1.5 s before the end (${retries[1]})`);
    }
    // Each exit is written as its stream ended, over the window: not all at the stop.
    const sessions = viewers.map((v) => v.events[0]!.id!);
    const exits = await store.rows(`SELECT exit_reason, exit_at FROM audience_meter_sessions WHERE session IN (${sessions.map(() => '?').join(',')})`, sessions);
    assert.equal(exits.length, viewers.length);
    assert.deepEqual(new Set(exits.map((r) => r.exit_reason)), new Set(['shutdown']));
    assert.ok(new Set(exits.map((r) => r.exit_at)).size > viewers.length / 2, 'exits at many different times');
    // Going away: a WebSocket client reconnects, elsewhere.
    assert.equal((await wsViewer.waitForClose()).code, 1001);
    assert.match(daemon.stderr(), new RegExp(`${signal}: draining for 3 s`));
  });
}

test('a second SIGTERM during the drain stops at once', async () => {
  const daemon = await startDaemon(['--drain-seconds', '120'], { workers: 2 });
  const viewer = await openViewer(daemon.port, '/cut');
  daemon.process.kill('SIGTERM');
  await waitFor(async () => (await httpRequest(daemon.port, '/readyz')).status === 503, 5000, 'readyz to answer 503');
  daemon.process.kill('SIGTERM');
  // The notice alone would last 30 s: an exit before that is the drain cut short.
  let code: number | null | undefined;
  void daemon.exited.then((c) => { code = c; });
  await waitFor(() => code !== undefined, 20_000, 'the daemon to exit');
  assert.equal(code, 0);
  await viewer.waitForEnd();
  assert.equal(retriesOf(viewer.body).length, 1, 'ended by the stop, not by the drain: only the first frame\'s retry:');
  assert.match(daemon.stderr(), /SIGTERM again: stopping now/);
});

test('a worker that restarts during the drain joins it: its new streams end in the window, with retry:', async () => {
  const daemon = await startDaemon(['--drain-seconds', '12'], { workers: 1 });
  const first = await openViewer(daemon.port, '/respawn');
  const [worker] = daemon.workerPids();
  daemon.process.kill('SIGTERM');
  // The spread has begun once the only stream is ended (by the drain: with a retry).
  await first.waitForEnd(10_000);
  assert.equal(retriesOf(first.body).length, 2, 'ended by the drain: its retry: after the first frame\'s');
  process.kill(worker!, 'SIGKILL');
  await waitFor(() => daemon.workerPids().some((pid) => pid !== worker), 10_000, 'a new worker');
  const alive = (): Promise<boolean> => httpRequest(daemon.port, '/healthz').then((r) => r.status === 200, () => false);
  await waitFor(alive, 10_000, 'the new worker to listen');
  const late = await openViewer(daemon.port, '/respawn');
  assert.equal(await daemon.exited, 0);
  assert.equal(late.ended, true);
  assert.equal(retriesOf(late.body).length, 2, 'ended by the drain, not cut by the stop');
});
