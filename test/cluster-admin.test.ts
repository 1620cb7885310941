// The admin API across a cluster, with two real daemons over each transport: targeted messages sent to
// one node reach exactly their targets on the other, the listing and the live feed cover both nodes, and
// a peer that refuses the token or does not answer is named rather than hanging or failing the request.
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { DatagramEncoder } from '../src/protocol/datagram.js';
import { peersOf, randomGroup, sendToGroup, startNode, TRANSPORTS, waitForMesh } from './helpers/cluster.js';
import { waitFor, type Daemon } from './helpers/daemon.js';
import { httpRequest, type Reply } from './helpers/http.js';
import { openViewer, SseClient } from './helpers/sse-client.js';
import { AUTH_SECRET, signToken } from './helpers/tokens.js';
import { openWsViewer } from './helpers/ws-client.js';

const TOKEN = 'cluster-admin-token-0123456789';
const FORWARDED = { 'X-Audience-Meter-Forwarded': '1' };

interface Connection { id: string; ns: string; user: string | null; page: string | null }

/** The admin API of one node, with its token. */
function adminOf(daemon: Daemon, token = TOKEN) {
  const auth = { Authorization: `Bearer ${token}` };
  const get = (path: string, headers: Record<string, string> = {}): Promise<Reply> =>
    httpRequest(daemon.notificationPort, path, { headers: { ...auth, ...headers } });
  const post = (path: string, message: unknown, headers: Record<string, string> = {}): Promise<Reply> =>
    httpRequest(daemon.notificationPort, path, { method: 'POST', body: JSON.stringify(message), headers: { 'Content-Type': 'application/json', ...auth, ...headers } });
  return {
    auth,
    get,
    post,
    async json(path: string, headers: Record<string, string> = {}): Promise<any> {
      const reply = await get(path, headers);
      assert.equal(reply.status, 200, `${path}: ${reply.body}`);
      return JSON.parse(reply.body);
    },
    async sent(path: string, message: unknown): Promise<any> {
      const reply = await post(path, message);
      assert.equal(reply.status, 200, `${path}: ${reply.body}`);
      return JSON.parse(reply.body);
    },
  };
}

/** Targeted events (named, not counts) a viewer received, as `event:data`. */
const named = (client: SseClient): string[] => client.events.filter((e) => e.event !== 'message').map((e) => `${e.event}:${e.data}`);

/** Waits until every node of `daemons` knows every other one's admin port. */
async function waitForAdminPorts(daemons: Daemon[], tokens: string[]): Promise<void> {
  await waitFor(async () => {
    const reports = await Promise.all(daemons.map((d, i) => peersOf(d, tokens[i])));
    return reports.every((report) => report.peers.length >= daemons.length - 1 && report.peers.every((peer) => peer.admin !== null));
  }, 10_000, 'the nodes to know each other\'s admin port');
}

for (const kind of TRANSPORTS) describe(`the admin API of a two-node cluster (${kind.name})`, { skip: kind.skip }, () => {
  const group = kind.scope();
  const multicast = group.transport === 'multicast';
  // Over Redis no node calls another's admin port: each node may have a token of its own.
  const tokenB = multicast ? TOKEN : 'another-token-of-node-b-4242';
  let a: Daemon;
  let b: Daemon;
  const viewers: SseClient[] = [];
  const args = ['--cluster-secret', 'cluster secret of the admin tests', '--auth-secret', AUTH_SECRET];
  const admin = (daemon: Daemon) => adminOf(daemon, daemon === b ? tokenB : TOKEN);

  before(async () => {
    [a, b] = await Promise.all([startNode(group, [...args, '--admin-token', TOKEN]), startNode(group, [...args, '--admin-token', tokenB])]);
    await waitForMesh([a, b], 10_000, [TOKEN, tokenB]);
    if (multicast) await waitForAdminPorts([a, b], [TOKEN, TOKEN]);
  });
  after(async () => {
    for (const viewer of viewers) viewer.close();
    await Promise.all([a, b].map((d) => d?.stop()));
    await group.cleanup?.();
  });

  /** A viewer whose `?page=` names it in the listing. */
  async function viewer(daemon: Daemon, ns: string, page: string, user?: string): Promise<SseClient> {
    const token = user ? `&token=${await signToken({ sub: user })}` : '';
    const client = await openViewer(daemon.port, `/${ns}?page=${encodeURIComponent(page)}${token}`);
    viewers.push(client);
    return client;
  }

  /** Waits until `daemon`'s listing of `ns` (every node's) has `expected` connections, and returns them. */
  async function listed(daemon: Daemon, ns: string, expected: number): Promise<Connection[]> {
    let connections: Connection[] = [];
    await waitFor(async () => (connections = (await admin(daemon).json(`/api/connections?ns=${ns}`)).connections).length === expected,
      5000, `${expected} connections in ${ns}`);
    return connections;
  }

  /** Sends `marker` to a whole namespace through `daemon` and waits until each of `clients` has it. */
  async function settle(daemon: Daemon, ns: string, clients: SseClient[], marker: string): Promise<void> {
    assert.deepEqual(await admin(daemon).sent(`/api/namespaces/${ns}/messages`, { event: 'sync', data: marker }), { delivered: clients.length });
    await Promise.all(clients.map((c) => waitFor(() => named(c).includes(`sync:${marker}`), 5000, `${marker} on every viewer`)));
  }

  if (multicast) test('GET /api/peers tells where each peer\'s admin API listens', async () => {
    const [reportA, reportB] = await Promise.all([peersOf(a, TOKEN), peersOf(b, tokenB)]);
    assert.deepEqual(reportA.peers.map((peer) => [peer.id, peer.admin]), [[reportB.self!.id, `127.0.0.1:${b.notificationPort}`]]);
    assert.deepEqual(reportB.peers.map((peer) => [peer.id, peer.admin]), [[reportA.self!.id, `127.0.0.1:${a.notificationPort}`]]);
  });

  test('the listing on either node shows both nodes\' viewers, and pages over them exactly', async () => {
    for (const page of ['/a1', '/a2']) await viewer(a, 'list', page);
    for (const page of ['/b1', '/b2', '/b3']) await viewer(b, 'list', page);
    const all = await listed(a, 'list', 5);
    assert.deepEqual(all.map((c) => c.page).sort(), ['/a1', '/a2', '/b1', '/b2', '/b3']);
    assert.deepEqual((await listed(b, 'list', 5)).map((c) => c.id).sort(), all.map((c) => c.id).sort());
    // Pages of 2 walk the nodes one after the other: every connection once, in the full listing's order.
    const paged: Connection[] = [];
    let after = '';
    for (let pages = 0; ; pages++) {
      assert.ok(pages < 5, 'the walk ends');
      const page = await admin(a).json(`/api/connections?ns=list&limit=2${after ? `&after=${encodeURIComponent(after)}` : ''}`);
      assert.ok(page.connections.length <= 2);
      assert.equal(page.unreachable, undefined);
      paged.push(...page.connections);
      if (page.next === null) break;
      after = page.next;
    }
    assert.deepEqual(paged.map((c) => c.id), all.map((c) => c.id));
    if (multicast) {
      // A forwarded request (what a peer sends) lists that node's own viewers only.
      const own = await admin(b).json('/api/connections?ns=list', FORWARDED);
      assert.deepEqual(own.connections.map((c: Connection) => c.page).sort(), ['/b1', '/b2', '/b3']);
    }
    assert.equal((await admin(a).get('/api/connections?after=12')).status, 400, 'a cursor of another shape');
    assert.equal((await admin(a).get('/api/connections?limit=0')).status, 400);
  });

  test('a message sent to A for a connection held by B reaches that viewer and no other', async () => {
    const clients = [await viewer(a, 'targets', '/a1'), ...await Promise.all(['/b1', '/b2', '/b3'].map((page) => viewer(b, 'targets', page)))];
    const chosen = (await listed(a, 'targets', 4)).find((c) => c.page === '/b2')!;
    const bId = (await peersOf(b, tokenB)).self!.id;
    assert.ok(chosen.id.startsWith(`${bId}-`), `${chosen.id} names node B`);
    assert.deepEqual(await admin(a).sent(`/api/connections/${encodeURIComponent(chosen.id)}/messages`, { event: 'offer', data: { seat: 'B2' } }), { delivered: 1 });
    // The namespace message goes out after the offer, from A to both nodes: once it has arrived, so has the offer.
    await settle(a, 'targets', clients, 'targets-done');
    assert.deepEqual(clients.map((c) => named(c).filter((m) => m.startsWith('offer:'))), [[], [], ['offer:{"seat":"B2"}'], []]);
    // Unknown connections: one B does not hold (B's answer, relayed), one of a node not in the cluster.
    assert.equal((await admin(a).post(`/api/connections/${bId}-1-zzzz-0/messages`, { event: 'offer' })).status, 404);
    const stranger = await admin(a).post('/api/connections/0123456789abcdef-1-zzzz-0/messages', { event: 'offer' });
    assert.equal(stranger.status, 404);
    assert.match(stranger.body, /not in the cluster/);
    // The body is checked before anything is forwarded.
    assert.equal((await admin(a).post(`/api/connections/${encodeURIComponent(chosen.id)}/messages`, { data: 1 })).status, 400);
  });

  test('a message to a user reaches that user\'s connections on both nodes, and no one else', async () => {
    const alice = [await viewer(a, 'users-1', '/alice-a', 'alice'), await viewer(b, 'users-1', '/alice-b', 'alice'), await viewer(b, 'users-2', '/alice-b2', 'alice')];
    const others = [await viewer(a, 'users-1', '/bob', 'bob'), await viewer(b, 'users-2', '/carol', 'carol'), await viewer(b, 'users-1', '/anonymous')];
    await listed(a, 'users-1', 4);
    await listed(a, 'users-2', 2);
    assert.deepEqual(await admin(b).sent('/api/users/alice/messages', { event: 'notice', data: 'hello alice' }), { delivered: 3 });
    for (const client of alice) await waitFor(() => named(client).includes('notice:hello alice'), 5000, 'the notice');
    await settle(b, 'users-1', [alice[0]!, alice[1]!, others[0]!, others[2]!], 'users-1-done');
    await settle(a, 'users-2', [alice[2]!, others[1]!], 'users-2-done');
    for (const client of others) assert.deepEqual(named(client).filter((m) => m.startsWith('notice:')), []);
  });

  test(`a message to a namespace reaches its viewers on both nodes${multicast ? '; a forwarded one stays on its node' : ''}`, async () => {
    const room = [await viewer(a, 'room', '/a'), await viewer(b, 'room', '/b1'), await viewer(b, 'room', '/b2')];
    const hall = await viewer(b, 'hall', '/elsewhere');
    await listed(a, 'room', 3);
    await listed(a, 'hall', 1);
    assert.deepEqual(await admin(a).sent('/api/namespaces/room/messages', { event: 'announcement', data: [1, 2] }), { delivered: 3 });
    for (const client of room) await waitFor(() => named(client).includes('announcement:[1,2]'), 5000, 'the announcement');
    if (multicast) {
      const local = await admin(b).post('/api/namespaces/room/messages', { event: 'local', data: 'b only' }, FORWARDED);
      assert.deepEqual(JSON.parse(local.body), { delivered: 2 });
    }
    await settle(a, 'room', room, 'room-done');
    await settle(a, 'hall', [hall], 'hall-done');
    assert.deepEqual(named(hall), ['sync:hall-done']);
    assert.deepEqual(room.map((c) => named(c).filter((m) => m.startsWith('local:'))), [[], multicast ? ['local:b only'] : [], multicast ? ['local:b only'] : []]);
  });

  test('the feed on A starts with both nodes\' viewers, then tells joins, page changes and leaves on B', async () => {
    await viewer(a, 'feed', '/on-a');
    await viewer(b, 'feed', '/on-b');
    await listed(a, 'feed', 2);
    const feed = new SseClient(a.notificationPort, '/api/events?ns=feed', { headers: admin(a).auth });
    try {
      await feed.waitForEvents(1);
      assert.equal(feed.events[0]!.event, 'snapshot');
      const snapshot = JSON.parse(feed.events[0]!.data);
      assert.equal(snapshot.total, 2);
      assert.deepEqual(snapshot.connections.map((c: Connection) => c.page).sort(), ['/on-a', '/on-b']);
      const ws = await openWsViewer(b.port, '/feed?page=%2Fspa');
      await feed.waitForEvents(2);
      const join = JSON.parse(feed.events[1]!.data);
      assert.deepEqual([feed.events[1]!.event, join.ns, join.page, join.transport], ['join', 'feed', '/spa', 'ws']);
      ws.send(JSON.stringify({ type: 'page', page: '/schedule' }));
      await feed.waitForEvents(3);
      assert.deepEqual([feed.events[2]!.event, JSON.parse(feed.events[2]!.data).id, JSON.parse(feed.events[2]!.data).page], ['page', join.id, '/schedule']);
      ws.close();
      await feed.waitForEvents(4);
      assert.deepEqual([feed.events[3]!.event, JSON.parse(feed.events[3]!.data).id], ['leave', join.id]);
      await viewer(b, 'not-feed', '/ignored');
      await viewer(a, 'feed', '/a-again');
      await feed.waitForEvents(5);
      assert.deepEqual([feed.events[4]!.event, JSON.parse(feed.events[4]!.data).page], ['join', '/a-again']);
    } finally {
      feed.close();
    }
  });

  if (multicast) test('forwarded requests need the token like any other', async () => {
    const unauthenticated = await httpRequest(b.notificationPort, '/api/namespaces/room/messages', {
      method: 'POST', body: '{"event":"offer"}', headers: { 'Content-Type': 'application/json', ...FORWARDED },
    });
    assert.equal(unauthenticated.status, 401);
    assert.equal((await httpRequest(b.notificationPort, '/api/connections', { headers: FORWARDED })).status, 401);
  });
});

describe('the admin API with peers that cannot answer', () => {
  const group = randomGroup();
  const OTHER_TOKEN = 'another-token-9876543210';
  const SILENT = 'fa4efa4efa4efa4e';
  let a: Daemon;
  let c: Daemon;
  let heartbeat: NodeJS.Timeout;
  const stalled = new Set<Socket>();
  // Accepts connections and never answers: a node whose admin port hangs.
  const silentAdmin = createServer((socket) => stalled.add(socket));
  const viewers: SseClient[] = [];

  before(async () => {
    // C has another --admin-token than A: its answers to A's forwarded requests are 401.
    [a, c] = await Promise.all([startNode(group, ['--admin-token', TOKEN]), startNode(group, ['--admin-token', OTHER_TOKEN])]);
    await new Promise<void>((resolve) => silentAdmin.listen(0, '127.0.0.1', resolve));
    const port = (silentAdmin.address() as { port: number }).port;
    const encoder = new DatagramEncoder({ id: SILENT, incarnation: Date.now() }, undefined);
    const advertise = (): void => void sendToGroup(group, [...encoder.counts([]), encoder.admin(port)]).catch(() => {});
    advertise();
    heartbeat = setInterval(advertise, 200);
    await waitForMesh([a, c], 10_000, [TOKEN, OTHER_TOKEN]);
    await waitFor(async () => {
      const peers = (await peersOf(a, TOKEN)).peers;
      return peers.length === 2 && peers.every((peer) => peer.admin !== null);
    }, 10_000, 'A to know C\'s and the silent node\'s admin ports');
  });
  after(async () => {
    clearInterval(heartbeat);
    for (const viewer of viewers) viewer.close();
    for (const socket of stalled) socket.destroy();
    silentAdmin.close();
    await Promise.all([a, c].map((d) => d?.stop()));
  });

  test('each peer that does not answer is named; what the others hold is still served', async () => {
    const onA = await openViewer(a.port, '/lost?page=%2Fa');
    const onC = await openViewer(c.port, '/lost?page=%2Fc');
    viewers.push(onA, onC);
    const cId = (await peersOf(c, OTHER_TOKEN)).self!.id;
    const unreachable = [cId, SILENT].sort();
    const admin = adminOf(a);
    // Each node's own listing (a forwarded request asks no one else) shows its viewer once its worker reported it.
    let cConnection: Connection | undefined;
    await waitFor(async () => (await admin.json('/api/connections?ns=lost', FORWARDED)).connections.length === 1, 5000, 'A to list its viewer');
    await waitFor(async () => (cConnection = (await adminOf(c, OTHER_TOKEN).json('/api/connections?ns=lost', FORWARDED)).connections[0]) !== undefined,
      5000, 'C to list its viewer');

    const listing = await admin.json('/api/connections?ns=lost');
    assert.deepEqual(listing.connections.map((x: Connection) => x.page), ['/a']);
    assert.deepEqual(listing.unreachable, unreachable);

    const fanOut = await admin.sent('/api/namespaces/lost/messages', { event: 'offer', data: 'x' });
    assert.deepEqual(fanOut, { delivered: 1, unreachable });
    await waitFor(() => named(onA).includes('offer:x'), 5000, 'the offer on A');

    const refused = await admin.post(`/api/connections/${encodeURIComponent(cConnection!.id)}/messages`, { event: 'offer' });
    assert.equal(refused.status, 502);
    assert.match(JSON.parse(refused.body).error, /same --admin-token$/);

    const timedOut = await admin.post(`/api/connections/${SILENT}-1-abc-0/messages`, { event: 'offer' });
    assert.equal(timedOut.status, 504);
    assert.match(JSON.parse(timedOut.body).error, /did not answer within 3 s$/);

    const feed = new SseClient(a.notificationPort, '/api/events?ns=lost', { headers: admin.auth });
    try {
      await feed.waitForEvents(1, 6000);
      assert.deepEqual(JSON.parse(feed.events[0]!.data).unreachable, unreachable);
      assert.equal(JSON.parse(feed.events[0]!.data).total, 1);
    } finally {
      feed.close();
    }
    assert.deepEqual(named(onC), [], 'C\'s viewer got nothing through A');
  });
});
