// What only the Redis transport has: Redis going away and coming back (through a proxy of the test's own in
// front of the shared server), a FLUSHDB of a database of the test's own healing by itself, two clusters on
// one Redis kept apart by their prefixes, garbage under the prefix, and an admin request to a node that never
// answers. The behaviours both transports share are in the cluster*.test.ts suites, run once per transport.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { peersOf, proxiedRedisPair, startNode, waitForMesh } from './helpers/cluster.js';
import { isAlive, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { httpRequest } from './helpers/http.js';
import { redisScope, redisSkip, testClient } from './helpers/redis.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';

const WAIT_MS = 10_000;

function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

async function metrics(daemon: Daemon): Promise<string> {
  return (await httpRequest(daemon.notificationPort, '/metrics')).body;
}

const totalDropped = async (daemon: Daemon): Promise<number> => Object.values((await peersOf(daemon)).dropped).reduce((sum, n) => sum + n, 0);

describe('Redis going away and coming back', { skip: redisSkip }, () => {
  const nodes = proxiedRedisPair();
  const { proxy } = nodes;
  const viewers: SseClient[] = [];
  after(() => { for (const viewer of viewers) viewer.close(); });

  test('a node that loses Redis keeps counting its own viewers, says so once, and rejoins with its state', async () => {
    const { a, b } = nodes;
    viewers.push(await openViewer(a.port, '/outage'), await openViewer(b.port, '/outage'));
    for (const node of [a, b]) await waitForMembers(node, 'outage', 2);
    assert.equal(metric(await metrics(a), 'audience_meter_cluster_joined'), 1);

    await proxy.stop();
    await waitFor(async () => (await peersOf(a)).self!.redis!.connected === false, WAIT_MS, 'A to notice Redis is gone');
    viewers.push(await openViewer(a.port, '/outage'));
    // A counts its own two viewers; B's share is dropped after the node timeout, as for a silent node.
    await waitForMembers(a, 'outage', 2, WAIT_MS);
    await waitForMembers(b, 'outage', 1, WAIT_MS);
    const report = await peersOf(a);
    assert.equal(report.self!.redis!.joined, false);
    assert.notEqual(report.self!.redis!.failingSince, null);
    assert.equal(metric(await metrics(a), 'audience_meter_cluster_joined'), 0);
    const ready = await httpRequest(a.port, '/outage', { headers: { Accept: 'text/event-stream' } }).catch(() => undefined);
    assert.ok(ready === undefined || ready.status !== 503, 'viewers are still served');

    await proxy.start();
    for (const node of [a, b]) await waitForMembers(node, 'outage', 3, WAIT_MS);
    await waitFor(async () => (await peersOf(a)).self!.redis!.joined, WAIT_MS, 'A to rejoin');
    assert.equal(metric(await metrics(a), 'audience_meter_cluster_joined'), 1);
    const said = a.stderr().split('\n').filter((line) => line.includes('is unreachable'));
    assert.equal(said.length, 1, `one line for the outage, not one per retry: ${said.join(' | ')}`);
    // Written once the others' state is read again, a moment after it joined.
    await waitFor(() => /is back after .* this node rejoined/.test(a.stderr()), WAIT_MS, 'the line that says A is back');
  });
});

describe('FLUSHDB on the cluster\'s database', { skip: redisSkip }, () => {
  // A database of this test's own: FLUSHDB there, never FLUSHALL (the server is shared).
  const scope = redisScope({ db: randomInt(10, 16) });
  // Rounds of 1 s, so the test's own polling (every 25 ms) cannot add a round to the count of rounds it took.
  const ROUNDS = ['--cluster-notify-interval', '1', '--cluster-node-timeout', '3'];
  let a: Daemon;
  let b: Daemon;
  const viewers: SseClient[] = [];
  const roundsOf = async (daemon: Daemon): Promise<number> => (await peersOf(daemon)).self!.sent.rounds;

  before(async () => {
    [a, b] = await Promise.all([startNode(scope, ROUNDS), startNode(scope, ROUNDS)]);
    await waitForMesh([a, b]);
  });
  after(async () => {
    for (const viewer of viewers) viewer.close();
    await Promise.all([a, b].map((d) => d?.stop()));
    await scope.cleanup();
  });

  test('heals by itself: every node re-asserts its state, and a node that joins afterwards learns all of it', async () => {
    viewers.push(await openViewer(a.port, '/flushed'), await openViewer(b.port, '/flushed'), await openViewer(b.port, '/flushed'));
    for (const node of [a, b]) await waitForMembers(node, 'flushed', 3);
    const ids = await Promise.all([a, b].map(async (d) => (await peersOf(d)).self!.id));
    const client = testClient(scope.db);
    try {
      await client.flushdb();
      const flushedAt = await Promise.all([a, b].map(roundsOf));
      assert.equal((await client.keys(`${scope.prefix}*`)).length, 0);
      // Each node is present again, with its count of the namespace (A holds 1 viewer, B 2).
      await Promise.all([a, b].map(async (node, i) => {
        await waitFor(async () => (await client.zscore(`${scope.prefix}{cluster}:nodes`, ids[i]!)) !== null
          && (await client.hget(`${scope.prefix}{cluster}:counts:${ids[i]}`, 'flushed')) === `${i + 1} ${i + 1}`, WAIT_MS, `node ${ids[i]} to re-assert its state`);
        const rounds = (await roundsOf(node)) - flushedAt[i]!;
        assert.ok(rounds <= 2, `node ${ids[i]} healed within two rounds (took ${rounds})`);
      }));
    } finally {
      client.disconnect();
    }
    for (const node of [a, b]) await waitForMembers(node, 'flushed', 3);
    const late = await startNode(scope, ROUNDS);
    try {
      await waitForMembers(late, 'flushed', 3, WAIT_MS);
      viewers.push(await openViewer(a.port, '/flushed'));
      for (const node of [a, b, late]) await waitForMembers(node, 'flushed', 4, WAIT_MS);
    } finally {
      await late.stop();
    }
  });
});

describe('two clusters on one Redis', { skip: redisSkip }, () => {
  const red = redisScope();
  const blue = redisScope();
  let nodes: Daemon[] = [];
  const viewers: SseClient[] = [];

  before(async () => {
    // One after the other: four daemons starting at once on a busy machine may not all listen in time.
    for (const scope of [red, red, blue, blue]) nodes.push(await startNode(scope));
    await waitForMesh(nodes.slice(0, 2));
    await waitForMesh(nodes.slice(2));
  });
  after(async () => {
    for (const viewer of viewers) viewer.close();
    await Promise.all(nodes.map((d) => d.stop()));
    await Promise.all([red.cleanup(), blue.cleanup()]);
  });

  test('stay apart: their own nodes, counts and notifications only', async () => {
    const [red1, red2, blue1, blue2] = nodes as [Daemon, Daemon, Daemon, Daemon];
    viewers.push(await openViewer(red1.port, '/shared-name'), await openViewer(red2.port, '/shared-name'), await openViewer(blue1.port, '/shared-name'));
    const onBlue2 = await openViewer(blue2.port, '/shared-name');
    viewers.push(onBlue2);
    for (const node of nodes) await waitForMembers(node, 'shared-name', 2);
    for (const node of nodes) assert.equal((await peersOf(node)).peers.length, 1);
    assert.equal((await httpRequest(red1.notificationPort, '/shared-name/chat/red-only')).status, 200);
    assert.equal((await httpRequest(blue1.notificationPort, '/shared-name/chat/blue-only')).status, 200);
    await waitFor(() => onBlue2.events.some((e) => e.data === 'chat=blue-only'), WAIT_MS, 'the blue notification');
    // The red one was published before the blue one on the same server: it would have arrived first.
    assert.equal(onBlue2.events.some((e) => e.data === 'chat=red-only'), false);
  });
});

describe('garbage under the prefix, and a node that never answers', { skip: redisSkip }, () => {
  const scope = redisScope();
  const SILENT = 'fa4efa4efa4efa4e';
  let a: Daemon;
  let b: Daemon;
  const client = testClient(scope.db);
  const subscriber = testClient(scope.db);
  const heartbeats: NodeJS.Timeout[] = [];
  const viewers: SseClient[] = [];

  /** Keeps a node of the test's own present in Redis (renewed on Redis's clock) until the returned function is called. */
  async function present(node: string, state: string[]): Promise<() => void> {
    const renew = async (): Promise<void> => {
      const [seconds, micros] = await client.time();
      await client.hset(`${scope.prefix}{cluster}:counts:${node}`, ...state);
      await client.zadd(`${scope.prefix}{cluster}:nodes`, Number(seconds) * 1000 + Math.floor(Number(micros) / 1000), node);
    };
    await renew();
    const timer = setInterval(() => void renew().catch(() => {}), 100);
    heartbeats.push(timer);
    return () => clearInterval(timer);
  }

  before(async () => {
    [a, b] = await Promise.all([startNode(scope), startNode(scope)]);
    await waitForMesh([a, b]);
  });
  after(async () => {
    for (const timer of heartbeats) clearInterval(timer);
    for (const viewer of viewers) viewer.close();
    await Promise.all([a, b].map((d) => d?.stop()));
    client.disconnect();
    subscriber.disconnect();
    await scope.cleanup();
  });

  test('is dropped and counted, and never stops the counting', async () => {
    const [beforeA, beforeB] = await Promise.all([totalDropped(a), totalDropped(b)]);
    const id = (await peersOf(b)).self!.id;
    const p = scope.prefix;
    const junk = ['', 'not json', '[]', '{"v":1}', '{"v":2,"n":"0123456789abcdef"}', `{"v":1,"n":"${id}","i":1,"s":1,"c":[["x",-1,0]],"o":[],"e":[]}`,
      '{"v":1,"n":"0123456789abcdef","t":"notify","ns":"","d":1}', '{"v":1,"n":"0123456789abcdef","t":"req","id":"x!","request":{}}', '\u0000'.repeat(100)];
    for (const channel of [`${p}state`, `${p}all`, `${p}to:${id}`]) for (const message of junk) await client.publish(channel, message);
    // A node listed in Redis with nonsense in its state, and a member that is no node id at all.
    await client.hset(`${p}{cluster}:sessions:0123456789abcdef`, 'not-a-session', '[1,2,3]');
    const leave = await present('0123456789abcdef', ['\u0000incarnation', '5', 'good-ns', '1 1', 'bad-ns', 'many', '', '1 1']);
    const [seconds] = await client.time();
    await client.zadd(`${p}{cluster}:nodes`, Number(seconds) * 1000 + 60_000, 'not a node id');
    // A fresh node reads the whole state: it meets the nonsense too.
    const late = await startNode(scope);
    try {
      // A hears the junk on the two shared channels; B on those and in its inbox.
      await waitFor(async () => (await totalDropped(a)) - beforeA >= 2 * junk.length, WAIT_MS, 'the garbage to be counted as dropped on A');
      await waitFor(async () => (await totalDropped(b)) - beforeB >= 3 * junk.length, WAIT_MS, 'the garbage to be counted as dropped on B');
      await waitFor(async () => ((await peersOf(late)).dropped['bad data under the prefix'] ?? 0) >= 3, WAIT_MS, 'the bad state to be counted');
      for (const node of [a, b, late]) assert.ok(isAlive(node.process.pid!), 'still running');
      await waitForMembers(late, 'good-ns', 1, WAIT_MS);
      viewers.push(await openViewer(b.port, '/after-garbage'));
      for (const node of [a, b, late]) await waitForMembers(node, 'after-garbage', 1, WAIT_MS);
    } finally {
      leave();
      await late.stop();
    }
  });

  test('an admin request to a node that listens but never answers gets 504; to one that does not listen, 502', async () => {
    // A node of the test's own: present in Redis, subscribed to its inbox, mute.
    const leave = await present(SILENT, ['\u0000incarnation', '7', '\u0000seq', '0']);
    await subscriber.subscribe(`${scope.prefix}to:${SILENT}`);
    // A learns of it when it reads the cluster's state: after a restart of its link, or from a message.
    await client.publish(`${scope.prefix}state`, JSON.stringify({ v: 1, n: SILENT, i: 7, s: 1, c: [], o: [], e: [] }));
    await waitFor(async () => (await peersOf(a)).peers.some((peer) => peer.id === SILENT), WAIT_MS, 'A to know the mute node');
    const timedOut = await httpRequest(a.notificationPort, `/api/connections/${SILENT}-1-abc-0/messages`, {
      method: 'POST', body: '{"event":"offer"}', headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(timedOut.status, 504);
    assert.match(JSON.parse(timedOut.body).error, /did not answer within 3 s$/);
    const listing = JSON.parse((await httpRequest(a.notificationPort, '/api/connections')).body);
    assert.deepEqual(listing.unreachable, [SILENT]);
    await subscriber.unsubscribe();
    const refused = await httpRequest(a.notificationPort, `/api/connections/${SILENT}-1-abc-0/messages`, {
      method: 'POST', body: '{"event":"offer"}', headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(refused.status, 502);
    assert.match(JSON.parse(refused.body).error, /not listening/);
    leave();
    // Silent now: dropped within the node timeout by whichever node notices first.
    await waitFor(async () => !(await peersOf(a)).peers.some((peer) => peer.id === SILENT) && !(await peersOf(b)).peers.some((peer) => peer.id === SILENT),
      WAIT_MS, 'the mute node to be dropped');
    assert.equal(await client.zscore(`${scope.prefix}{cluster}:nodes`, SILENT), null);
  });
});
