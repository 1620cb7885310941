// The admin JSON API on real sockets against the real daemon (two workers): the listing, targeted messages
// that reach exactly their targets, the live feed, /metrics, and the answers to bad requests.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ALTERNATE_WORKERS, startDaemon, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { httpRequest, type Reply } from './helpers/http.js';
import { parseExposition } from './helpers/metrics.js';
import { openViewer, SseClient } from './helpers/sse-client.js';
import { AUTH_SECRET, signToken } from './helpers/tokens.js';
import { openWsViewer } from './helpers/ws-client.js';

const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
const AUTH = { Authorization: `Bearer ${ADMIN_TOKEN}` };

interface Connection { id: string; ns: string; user: string | null; page: string | null; transport: string }

describe('admin API', () => {
  let daemon: Daemon;
  const viewers: SseClient[] = [];

  before(async () => {
    daemon = await startDaemon(['--admin-token', ADMIN_TOKEN, '--auth-secret', AUTH_SECRET, '--notify-min-delay', '0.1'], { workers: 2, env: ALTERNATE_WORKERS });
  });
  after(async () => {
    for (const viewer of viewers) viewer.close();
    await daemon?.stop();
  });

  const get = (path: string, headers: Record<string, string> = AUTH): Promise<Reply> => httpRequest(daemon.notificationPort, path, { headers });
  const post = (path: string, body: string, headers: Record<string, string> = AUTH): Promise<Reply> =>
    httpRequest(daemon.notificationPort, path, { method: 'POST', body, headers: { 'Content-Type': 'application/json', ...headers } });
  const json = async (path: string): Promise<any> => {
    const reply = await get(path);
    assert.equal(reply.status, 200, `${path}: ${reply.body}`);
    return JSON.parse(reply.body);
  };

  /** A viewer whose `?page=` names it in the listing. */
  async function viewer(ns: string, page: string, user?: string): Promise<SseClient> {
    const token = user ? `&token=${await signToken({ sub: user })}` : '';
    const client = await openViewer(daemon.port, `/${ns}?page=${encodeURIComponent(page)}${token}`);
    viewers.push(client);
    return client;
  }

  async function connectionsOf(ns: string, expected: number): Promise<Connection[]> {
    let listed: Connection[] = [];
    await waitFor(async () => (listed = (await json(`/api/connections?ns=${ns}`)).connections).length === expected, 5000, `${expected} connections in ${ns}`);
    return listed;
  }

  /** Targeted events (named, not counts) a viewer received, as `event:data`. */
  const named = (client: SseClient): string[] => client.events.filter((e) => e.event !== 'message').map((e) => `${e.event}:${e.data}`);

  /** Sends `marker` to the whole namespace and waits for it everywhere: whatever was sent before has arrived too. */
  async function settle(ns: string, clients: SseClient[], marker: string): Promise<void> {
    assert.deepEqual(JSON.parse((await post(`/api/namespaces/${ns}/messages`, JSON.stringify({ event: 'sync', data: marker }))).body), { delivered: clients.length });
    await Promise.all(clients.map((c) => waitFor(() => named(c).includes(`sync:${marker}`), 5000, `${marker} on every viewer`)));
  }

  test('the token is required when set; the admin page itself is served without it', async () => {
    for (const path of ['/api/namespaces', '/api/connections', '/api/events', '/metrics']) {
      assert.equal((await get(path, {})).status, 401, path);
      assert.equal((await get(path, { Authorization: 'Bearer wrong-token-0123456789' })).status, 401, path);
    }
    assert.equal((await post('/api/namespaces/x/messages', '{"event":"offer"}', {})).status, 401);
    const page = await get('/admin', {});
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.body, /<script src="\/admin\/admin.js"/);
    for (const file of ['admin.js', 'admin-chart.js']) {
      assert.match(String((await get(`/admin/${file}`, {})).headers['content-type']), /^application\/javascript/);
      assert.match(page.body, new RegExp(`<script src="/admin/${file}"`));
    }
    assert.match(String((await get('/admin/admin.css', {})).headers['content-type']), /^text\/css/);
  });

  test('a message to one connection reaches it, on whichever worker, and no one else', async () => {
    const clients = await Promise.all(['/a', '/b', '/c', '/d'].map((page) => viewer('targets', page)));
    await waitForMembers(daemon, 'targets', 4);
    const listed = await connectionsOf('targets', 4);
    const workers = new Set(listed.map((c) => c.id.split('-')[1]));
    assert.equal(workers.size, 2, `the viewers are spread over both workers: ${[...workers]}`);
    // Each worker in turn holds the target, so the primary must route to the right one each time.
    const pages = ['/a', '/b', '/c', '/d'];
    const chosenPages = new Set<string>();
    for (const worker of workers) {
      const chosen = listed.find((c) => c.id.split('-')[1] === worker)!;
      chosenPages.add(chosen.page!);
      const reply = await post(`/api/connections/${encodeURIComponent(chosen.id)}/messages`, JSON.stringify({ event: 'offer', data: { for: chosen.page } }));
      assert.equal(reply.status, 200, reply.body);
      assert.deepEqual(JSON.parse(reply.body), { delivered: 1 });
      await settle('targets', clients, `after-${worker}`);
      clients.forEach((client, i) => {
        const page = pages[i]!;
        const offers = named(client).filter((m) => m.startsWith('offer:'));
        assert.deepEqual(offers, chosenPages.has(page) ? [`offer:${JSON.stringify({ for: page })}`] : [], `viewer ${page}`);
      });
    }
  });

  test('a message to a user reaches every device of that user only; a string is sent as is', async () => {
    const alice = [await viewer('users', '/alice-laptop', 'alice'), await viewer('users', '/alice-phone', 'alice')];
    const bob = await viewer('users', '/bob', 'bob');
    const elsewhere = await viewer('other', '/alice-elsewhere', 'alice');
    await connectionsOf('users', 3);
    await connectionsOf('other', 1);
    const reply = await post('/api/users/alice/messages', JSON.stringify({ event: 'notice', data: 'line one\nline two' }));
    assert.deepEqual(JSON.parse(reply.body), { delivered: 3 });
    await settle('users', [...alice, bob], 'users-done');
    for (const client of [...alice, elsewhere]) {
      await waitFor(() => named(client).includes('notice:line one\nline two'), 5000, 'the notice');
    }
    assert.deepEqual(named(bob), ['sync:users-done']);
    const listedAlice = (await json('/api/connections?user=alice')).connections as Connection[];
    assert.deepEqual(listedAlice.map((c) => c.page).sort(), ['/alice-elsewhere', '/alice-laptop', '/alice-phone']);
  });

  test('a message to a namespace reaches its viewers only', async () => {
    const inside = [await viewer('room-1', '/x'), await viewer('room-1', '/y')];
    const outside = await viewer('room-2', '/z');
    await connectionsOf('room-1', 2);
    await connectionsOf('room-2', 1);
    const reply = await post('/api/namespaces/room-1/messages', JSON.stringify({ event: 'announcement', data: [1, 2] }));
    assert.deepEqual(JSON.parse(reply.body), { delivered: 2 });
    for (const client of inside) await waitFor(() => named(client).includes('announcement:[1,2]'), 5000, 'the announcement');
    await settle('room-2', [outside], 'room-2-done');
    assert.deepEqual(named(outside), ['sync:room-2-done']);
    assert.deepEqual(JSON.parse((await post('/api/namespaces/nobody-here/messages', '{"event":"offer","data":1}')).body), { delivered: 0 });
  });

  test('bad requests get a one-line reason: 413, 400, 404, 405', async () => {
    const big = JSON.stringify({ event: 'offer', data: 'x'.repeat(5000) });
    const tooLarge = await post('/api/namespaces/room-1/messages', big);
    assert.equal(tooLarge.status, 413);
    assert.deepEqual(JSON.parse(tooLarge.body), { error: 'the body is larger than 4096 bytes' });
    for (const [body, reason] of [['{"event":', /not valid JSON/], ['', /empty/], ['[1]', /JSON object/], ['{"data":1}', /event must be/],
      ['{"event":"message","data":1}', /reserved/], ['{"event":"bad name","data":1}', /event must be/]] as const) {
      const reply = await post('/api/namespaces/room-1/messages', body);
      assert.equal(reply.status, 400, body);
      assert.match(reply.body, reason);
      assert.equal(reply.body.trim().split('\n').length, 1);
    }
    assert.equal((await post('/api/connections/no-such-connection/messages', '{"event":"offer"}')).status, 404);
    assert.equal((await post('/api/connections/0000-1-abc-0/messages', '{"event":"offer"}')).status, 404);
    assert.equal((await get('/api/namespaces/room-1/messages')).status, 405);
    assert.equal((await get('/api/connections?limit=-1')).status, 400);
    assert.equal((await get('/api/connections?limit=5000')).status, 400);
    // Still alive and counting after all that.
    assert.equal((await get('/api/namespaces')).status, 200);
  });

  test('the listing pages in a stable order', async () => {
    const all = (await json('/api/connections?limit=1000')).connections as Connection[];
    const paged: Connection[] = [];
    let after = '';
    for (;;) {
      const page = await json(`/api/connections?limit=3${after ? `&after=${after}` : ''}`);
      paged.push(...page.connections);
      if (page.next === null) break;
      assert.ok(page.connections.length === 3);
      after = page.next;
    }
    assert.deepEqual(paged.map((c) => c.id), all.map((c) => c.id));
    const namespaces = (await json('/api/namespaces')).namespaces as { name: string; members: number; users: number }[];
    assert.deepEqual(namespaces.find((n) => n.name === 'users'), { ...namespaces.find((n) => n.name === 'users'), members: 3, users: 2 });
  });

  test('the feed starts with a snapshot, then tells joins and leaves of its namespace', async () => {
    const present = await viewer('feed-room', '/present');
    await connectionsOf('feed-room', 1);
    const feed = new SseClient(daemon.notificationPort, '/api/events?ns=feed-room', { headers: AUTH });
    try {
      await feed.waitForEvents(1);
      assert.match(String(feed.headers['content-type']), /^text\/event-stream/);
      const snapshot = JSON.parse(feed.events[0]!.data);
      assert.equal(feed.events[0]!.event, 'snapshot');
      assert.equal(snapshot.total, 1);
      assert.equal(snapshot.connections[0].page, '/present');
      await viewer('not-this-room', '/ignored');
      const newcomer = await viewer('feed-room', '/newcomer', 'carol');
      await feed.waitForEvents(2);
      const join = JSON.parse(feed.events[1]!.data);
      assert.equal(feed.events[1]!.event, 'join');
      assert.deepEqual([join.ns, join.page, join.user, join.transport], ['feed-room', '/newcomer', 'carol', 'sse']);
      newcomer.close();
      present.close();
      await feed.waitForEvents(4);
      assert.deepEqual(feed.events.slice(2).map((e) => [e.event, JSON.parse(e.data).page]).sort(), [['leave', '/newcomer'], ['leave', '/present']]);
      assert.ok(feed.events.every((e) => JSON.parse(e.data).ns === undefined || JSON.parse(e.data).ns === 'feed-room'));
    } finally {
      feed.close();
    }
  });

  test('a WebSocket viewer appears with its transport, its page changes reach the feed, and it gets its message', async () => {
    const feed = new SseClient(daemon.notificationPort, '/api/events?ns=spa', { headers: AUTH });
    try {
      await feed.waitForEvents(1);
      const ws = await openWsViewer(daemon.port, '/spa?page=%2Fhome');
      await feed.waitForEvents(2);
      const join = JSON.parse(feed.events[1]!.data);
      assert.deepEqual([feed.events[1]!.event, join.transport, join.page], ['join', 'ws', '/home']);
      ws.send(JSON.stringify({ type: 'page', page: '/schedule' }));
      await feed.waitForEvents(3);
      const page = JSON.parse(feed.events[2]!.data);
      assert.deepEqual([feed.events[2]!.event, page.id, page.page], ['page', join.id, '/schedule']);
      const listed = (await json('/api/connections?ns=spa')).connections as Connection[];
      assert.deepEqual(listed.map((c) => [c.id, c.page, c.transport]), [[join.id, '/schedule', 'ws']]);
      const reply = await post(`/api/connections/${encodeURIComponent(join.id)}/messages`, JSON.stringify({ event: 'offer', data: { seat: 'A1' } }));
      assert.deepEqual(JSON.parse(reply.body), { delivered: 1 });
      await waitFor(() => ws.messages().some((m) => m.event === 'offer' && m.data === '{"seat":"A1"}'), 5000, 'the offer over WebSocket');
      ws.close();
      await feed.waitForEvents(4);
      assert.equal(feed.events[3]!.event, 'leave');
    } finally {
      feed.close();
    }
  });

  test('without the attendance log, the history of the last hour comes from memory', async () => {
    const history = await json('/api/namespaces/users/history');
    assert.equal(history.namespace, 'users');
    assert.ok(Array.isArray(history.samples));
    assert.equal((await get('/api/namespaces/users/history?from=yesterday')).status, 400);
  });

  test('/metrics is Prometheus text with the true viewer count', async () => {
    await waitFor(async () => (await json('/api/connections?limit=1000')).connections.length === viewers.filter((v) => !v.ended).length, 5000, 'the listing to settle');
    const reply = await get('/metrics');
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const { values } = parseExposition(reply.body);
    const open = viewers.filter((v) => !v.ended).length;
    assert.equal(values.get('audience_meter_viewers'), open);
    assert.equal(values.get('audience_meter_peers'), 0);
    assert.ok(values.get('audience_meter_joins_total')! >= viewers.length);
    assert.equal(values.get('audience_meter_joins_total')! - values.get('audience_meter_leaves_total')!, open);
    assert.ok(values.get('audience_meter_messages_sent_total{target="connection"}')! >= 2);
    const perWorker = [...values].filter(([name]) => name.startsWith('audience_meter_worker_connections{'));
    assert.equal(perWorker.length, 2);
    assert.equal(perWorker.reduce((sum, [, v]) => sum + v, 0), open);
  });

  test('the 2.x notification route still works beside the API', async () => {
    const client = await viewer('legacy', '/old');
    await connectionsOf('legacy', 1);
    assert.equal((await get('/legacy/chat/hello')).status, 200);
    await waitFor(() => client.events.some((e) => e.data === 'chat=hello'), 5000, 'the notification');
  });
});
