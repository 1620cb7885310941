// WebSocket viewers on the public port, against the real daemon: counted beside SSE viewers, JSON frames,
// the same token rules and device limit, page changes reaching the primary's live feed, the per-connection
// message policy (1008) that never disturbs anyone else, and targeted messages through the admin API.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ALTERNATE_WORKERS, startDaemon, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { httpRequest } from './helpers/http.js';
import { openViewer, SseClient } from './helpers/sse-client.js';
import { AUTH_SECRET, signToken } from './helpers/tokens.js';
import { openWsViewer, wsRefusal, type WsClient } from './helpers/ws-client.js';

interface Connection { id: string; ns: string; user: string | null; transport: string; page: string | null }

async function connectionsIn(daemon: Daemon, ns: string): Promise<Connection[]> {
  const reply = await httpRequest(daemon.notificationPort, `/api/connections?ns=${ns}`);
  assert.equal(reply.status, 200, reply.body);
  return (JSON.parse(reply.body) as { connections: Connection[] }).connections;
}

async function postMessage(daemon: Daemon, path: string, message: unknown): Promise<{ status: number; body: string }> {
  const body = JSON.stringify(message);
  return httpRequest(daemon.notificationPort, path, {
    method: 'POST', body, headers: { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) },
  });
}

describe('WebSocket viewers', () => {
  let daemon: Daemon;
  const open: Array<WsClient | SseClient> = [];
  before(async () => { daemon = await startDaemon(['-d', '--notify-min-delay', '0.1'], { workers: 2, env: ALTERNATE_WORKERS }); });
  after(async () => {
    for (const viewer of open) viewer.close();
    await daemon.stop();
  });

  test('counted with SSE viewers; counts and notifications arrive as JSON text frames', async () => {
    const first = await openWsViewer(daemon.port, '/mixed');
    open.push(first);
    assert.deepEqual(first.frames[0], { type: 'count', members: 1 });
    const sse = await openViewer(daemon.port, '/mixed');
    const second = await openWsViewer(daemon.port, '/mixed');
    open.push(sse, second);
    await waitForMembers(daemon, 'mixed', 3);
    await first.waitForCount(3);
    await sse.waitForCount(3);

    assert.equal((await httpRequest(daemon.notificationPort, '/mixed/chat/hello=world')).status, 200);
    await waitFor(() => first.messages().length === 1 && second.messages().length === 1, 3000, 'the notification over WebSocket');
    assert.deepEqual(first.messages()[0], { type: 'message', event: 'chat', data: 'hello=world' });
    await waitFor(() => sse.events.some((e) => e.data === 'chat=hello=world'), 3000, 'the notification over SSE');

    second.close();
    await waitForMembers(daemon, 'mixed', 2);
    await first.waitForCount(2);
  });

  test('page messages reach the primary and its live feed', async () => {
    const feed = new SseClient(daemon.notificationPort, '/api/events?ns=pages');
    open.push(feed);
    await feed.waitForEvents(1); // the snapshot
    const viewer = await openWsViewer(daemon.port, '/pages');
    open.push(viewer);
    viewer.send(JSON.stringify({ type: 'page', page: '/cars/tesla' }));
    await waitFor(() => feed.events.some((e) => e.event === 'page' && JSON.parse(e.data).page === '/cars/tesla'), 3000, 'the page event');
    const page = JSON.parse(feed.events.find((e) => e.event === 'page')!.data) as Connection;
    assert.equal(page.transport, 'ws');
    assert.deepEqual((await connectionsIn(daemon, 'pages')).map((c) => [c.id, c.page]), [[page.id, '/cars/tesla']]);
  });

  test('too many, malformed, binary or oversized messages close that connection only', async () => {
    const bystander = await openWsViewer(daemon.port, '/policy');
    open.push(bystander);
    const flood = await openWsViewer(daemon.port, '/policy');
    for (let i = 0; i < 11; i++) flood.send(JSON.stringify({ type: 'page', page: `/p/${i}` }));
    assert.deepEqual(await flood.waitForClose(), { code: 1008, reason: 'more than 10 messages a second' });

    for (const bad of ['not json', '{"type":"chat","page":"/x"}', '{"type":"page","page":""}', '{"type":"page","page":"/a\\nb"}', Buffer.from('{"type":"page","page":"/x"}')]) {
      const viewer = await openWsViewer(daemon.port, '/policy');
      viewer.send(bad);
      assert.equal((await viewer.waitForClose()).code, 1008, `closes on ${String(bad)}`);
    }
    const big = await openWsViewer(daemon.port, '/policy');
    big.send(JSON.stringify({ type: 'page', page: `/${'x'.repeat(2000)}` }));
    assert.equal((await big.waitForClose()).code, 1009, 'ws closes an oversized message as too big');

    await waitForMembers(daemon, 'policy', 1);
    assert.equal(bystander.closed, undefined);
    const after = await openWsViewer(daemon.port, '/policy');
    open.push(after);
    await waitForMembers(daemon, 'policy', 2);
  });

  test('upgrades follow the namespace rules', async () => {
    assert.equal((await wsRefusal(daemon.port, '/%ZZ')).status, 400);
    assert.equal((await wsRefusal(daemon.port, '/client/audience.js')).status, 404);
    assert.equal((await wsRefusal(daemon.port, `/${'n'.repeat(201)}`)).status, 400);
  });

  test('targeted messages reach exactly their connections, over either transport', async () => {
    // Connections alternate between the two workers, so these four sit on both.
    const ws = [await openWsViewer(daemon.port, '/target'), await openWsViewer(daemon.port, '/target')];
    const sse = [await openViewer(daemon.port, '/target'), await openViewer(daemon.port, '/target')];
    open.push(...ws, ...sse);
    await waitForMembers(daemon, 'target', 4);
    await waitFor(async () => (await connectionsIn(daemon, 'target')).length === 4, 3000, 'four connections listed');
    const listed = await connectionsIn(daemon, 'target');
    const wsIds = listed.filter((c) => c.transport === 'ws').map((c) => c.id);
    const sseIds = listed.filter((c) => c.transport === 'sse').map((c) => c.id);
    assert.equal(wsIds.length, 2);
    assert.equal(sseIds.length, 2);

    for (const id of [wsIds[0]!, sseIds[1]!]) {
      const reply = await postMessage(daemon, `/api/connections/${id}/messages`, { event: 'offer', data: `for ${id}` });
      assert.deepEqual([reply.status, JSON.parse(reply.body)], [200, { delivered: 1 }]);
    }
    const wsGot = (): unknown[] => ws.flatMap((v) => v.messages().map((m) => m.data));
    const sseGot = (): unknown[] => sse.flatMap((v) => v.events.filter((e) => e.event === 'offer').map((e) => e.data));
    await waitFor(() => wsGot().length + sseGot().length >= 2, 3000, 'both targeted messages');
    assert.deepEqual(wsGot(), [`for ${wsIds[0]}`]);
    assert.deepEqual(sseGot(), [`for ${sseIds[1]}`]);

    const all = await postMessage(daemon, '/api/namespaces/target/messages', { event: 'news', data: 'line 1\nline 2' });
    assert.deepEqual(JSON.parse(all.body), { delivered: 4 });
    await waitFor(() => ws.every((v) => v.messages().some((m) => m.event === 'news'))
      && sse.every((v) => v.events.some((e) => e.event === 'news')), 3000, 'the namespace message everywhere');
    assert.deepEqual(ws[1]!.messages().at(-1), { type: 'message', event: 'news', data: 'line 1\nline 2' });
    assert.equal(sse[0]!.events.find((e) => e.event === 'news')!.data, 'line 1\nline 2');
  });
});

describe('WebSocket viewers with identity tokens', () => {
  let daemon: Daemon;
  before(async () => {
    daemon = await startDaemon(['-d', '--auth-secret', AUTH_SECRET, '--max-devices', '1', '--notify-min-delay', '0.1'], { workers: 2, env: ALTERNATE_WORKERS });
  });
  after(async () => { await daemon.stop(); });

  test('a bad token is refused with 401 and its reason; a good one names the user', async () => {
    const forged = await signToken({ secret: 'another-secret-0123456789' });
    assert.deepEqual(await wsRefusal(daemon.port, `/tok?token=${forged}`), { status: 401, body: 'token signature is invalid\n' });
    const other = await signToken({ sub: 'ns-bound', ns: 'elsewhere' });
    assert.deepEqual(await wsRefusal(daemon.port, `/tok?token=${other}`), { status: 401, body: 'token is not valid for this namespace\n' });
    assert.equal((await daemon.stats()).tok?.members ?? 0, 0);

    const viewer = await openWsViewer(daemon.port, `/tok?token=${await signToken({ sub: 'alice' })}`);
    await waitFor(() => /entry \S+ ns=tok user=alice/.test(daemon.stderr()), 3000, 'the entry at the primary');
    await waitForMembers(daemon, 'tok', 1);
    viewer.close();
    await waitForMembers(daemon, 'tok', 0);
  });

  test('the device limit expels the older connection, whichever transport, with an expelled frame', async () => {
    const token = await signToken({ sub: 'one-device' });
    const first = await openWsViewer(daemon.port, `/limited?token=${token}`);
    await waitFor(() => /entry \S+ ns=limited user=one-device/.test(daemon.stderr()), 3000, 'the first entry');
    const firstSession = /entry (\S+) ns=limited user=one-device/.exec(daemon.stderr())![1]!;
    const second = await openViewer(daemon.port, `/limited?token=${token}`);
    await first.waitForClose();
    assert.deepEqual(first.frames.at(-1), { type: 'expelled', reason: 'device-limit-exceeded' });
    await waitForMembers(daemon, 'limited', 1);
    // An expelled session coming back (a client that sends Last-Event-ID) is refused like an SSE one: 204.
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(await wsRefusal(daemon.port, `/limited?token=${token}`, { 'Last-Event-ID': firstSession }), { status: 204, body: '' });
    }
    const third = await openWsViewer(daemon.port, `/limited?token=${token}`);
    await second.waitForEnd();
    assert.deepEqual(second.events.at(-1), { event: 'expelled', data: 'device-limit-exceeded' });
    await waitForMembers(daemon, 'limited', 1);

    const reply = await postMessage(daemon, '/api/users/one-device/messages', { event: 'offer', data: 'just for you' });
    assert.deepEqual(JSON.parse(reply.body), { delivered: 1 });
    await waitFor(() => third.messages().length === 1, 3000, 'the user message');
    assert.deepEqual(third.messages()[0], { type: 'message', event: 'offer', data: 'just for you' });
    third.close();
  });
});
