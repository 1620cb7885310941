// Three real daemons in one cluster on 127.0.0.1, over each transport (multicast, Redis): one audience across
// nodes, notifications on every node, garbage on the group (multicast; Redis: cluster-redis.test.ts), and a
// node killed outright.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DatagramEncoder } from '../src/protocol/datagram.js';
import { httpRequest, httpStatus } from './helpers/http.js';
import { parseExposition } from './helpers/metrics.js';
import { isAlive, readStats, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { peersOf, sendToGroup, startNode, TRANSPORTS, waitForMesh, type ClusterScope, type Group } from './helpers/cluster.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';

function messages(viewer: SseClient): string[] {
  return viewer.events.map((e) => e.data).filter((data) => !/^\d+$/.test(data));
}

for (const kind of TRANSPORTS) describe(`three nodes, one audience (${kind.name})`, { skip: kind.skip }, () => {
  const group: ClusterScope = kind.skip ? { transport: kind.name, args: [] } : kind.scope();
  let a: Daemon;
  let b: Daemon;
  let c: Daemon;
  const viewers: SseClient[] = [];
  before(async () => {
    [a, b, c] = await Promise.all([startNode(group, [], { workers: 2 }), startNode(group), startNode(group)]);
    await waitForMesh([a, b, c]);
  });
  after(async () => {
    for (const viewer of viewers) viewer.close();
    await Promise.all([a, b, c].map((d) => d?.stop()));
    await group.cleanup?.();
  });

  async function watch(daemon: Daemon, path: string): Promise<SseClient> {
    const viewer = await openViewer(daemon.port, path);
    viewers.push(viewer);
    return viewer;
  }

  test('every node counts the viewers of every node, in the stats and in what viewers see', async () => {
    const onA = [await watch(a, '/show'), await watch(a, '/show')];
    for (let i = 0; i < 3; i++) await watch(b, '/show');
    const onC = await watch(c, '/show');
    for (const node of [a, b, c]) await waitForMembers(node, 'show', 6);
    for (const node of [a, b, c]) assert.equal((await node.stats()).show!.connections, 6, 'joins on every node are counted once');
    // /metrics is each node's own share (sum() over the nodes is the total), where the stats port shows the cluster's.
    const own = await Promise.all([a, b, c].map(async (node) => parseExposition((await httpRequest(node.notificationPort, '/metrics')).body).values));
    assert.deepEqual(own.map((values) => values.get('audience_meter_viewers')), [2, 3, 1]);
    assert.deepEqual(own.map((values) => values.get('audience_meter_namespace_members{namespace="show"}')), [2, 3, 1]);
    await onC.waitForCount(6);
    // A newcomer's first count already includes the other nodes' viewers.
    const late = await watch(b, '/show');
    assert.equal(late.counts()[0], 7);
    // Let every node push 7 first: a leave within the same notifier check would cancel the change out.
    await onC.waitForCount(7);
    await waitFor(() => late.counts().length >= 2, 5000, 'B to push the newcomer\'s count');
    // Leaving on A is seen on B and C, and pushed to their viewers.
    onA[0]!.close();
    await waitForMembers(b, 'show', 6);
    await waitForMembers(c, 'show', 6);
    await onC.waitForCount(6);
    await late.waitForCount(6);
    assert.equal((await a.stats()).show!.connections, 7);
  });

  test('/api/peers and its new name /api/nodes list the other nodes, whatever the transport; the stats port keeps namespace keys only', async () => {
    const report = await peersOf(a);
    const byNewName = JSON.parse((await httpRequest(a.notificationPort, '/api/nodes')).body) as typeof report;
    assert.equal(byNewName.transport, report.transport);
    assert.deepEqual(byNewName.peers.map((p) => p.id).sort(), report.peers.map((p) => p.id).sort());
    if (group.transport === 'multicast') {
      assert.equal(report.transport, 'udp-multicast');
      assert.equal(report.self!.group, (group as Group).addr);
    } else {
      assert.equal(report.transport, 'redis');
      assert.equal(report.self!.redis!.connected, true);
    }
    assert.equal(report.peers.length, 2);
    const ids = [(await peersOf(b)).self!.id, (await peersOf(c)).self!.id].sort();
    assert.deepEqual(report.peers.map((p) => p.id).sort(), ids);
    for (const peer of report.peers) {
      if (group.transport === 'multicast') assert.match(peer.address!, /^127\.0\.0\.1:\d+$/);
      assert.ok(peer.incarnation > 1_600_000_000_000);
      assert.ok(Math.abs(peer.lastSeen - Date.now() / 1000) < 5, 'seen just now');
      assert.equal(typeof peer.namespaces, 'number');
    }
    const stats = await readStats(a.statsPort);
    for (const value of Object.values(stats)) assert.deepEqual(Object.keys(value).sort(), ['connections', 'created', 'members', 'modified', 'users']);
  });

  test('a notification sent to one node reaches viewers on every node, once', async () => {
    const audience = [await watch(a, '/news'), await watch(b, '/news'), await watch(c, '/news')];
    assert.equal(await httpStatus(c.notificationPort, '/news/chat/hello%20all'), 200);
    await Promise.all(audience.map((viewer) => waitFor(() => messages(viewer).length > 0, 5000, 'the notification')));
    for (const viewer of audience) assert.deepEqual(messages(viewer), ['chat=hello%20all']);
    // One that cannot fit in a datagram is refused rather than delivered on this node only.
    if (group.transport === 'multicast') assert.equal(await httpStatus(a.notificationPort, `/news/chat/${'m'.repeat(1200)}`), 413);
  });

  if (group.transport === 'multicast') test('garbage on the group is dropped and counted; counting goes on', async () => {
    const before = await peersOf(a);
    const encoder = new DatagramEncoder({ id: 'feedfacefeedface', incarnation: Date.now() }, undefined);
    const valid = encoder.counts([['garbage-ns', 3, 3]])[0]!;
    const garbage: Buffer[] = [];
    for (let i = 0; i < 1500; i++) garbage.push(randomBytes(1 + (i % 1300)));
    for (let i = 0; i < 1500; i++) {
      const mutated = Buffer.from(valid);
      mutated[5 + (i % (mutated.length - 5))] ^= 0xff;
      garbage.push(i % 3 === 0 ? mutated.subarray(0, i % mutated.length) : mutated);
    }
    await sendToGroup(group as Group, garbage);
    const total = (report: { dropped: Record<string, number> }): number => Object.values(report.dropped).reduce((sum, n) => sum + n, 0);
    await waitFor(async () => total(await peersOf(a)) - total(before) >= 1000, 10_000, 'the garbage to be counted as dropped');
    for (const node of [a, b, c]) assert.ok(isAlive(node.process.pid!), 'still running');
    const viewer = await watch(b, '/after-garbage');
    for (const node of [a, b, c]) await waitForMembers(node, 'after-garbage', 1);
    viewer.close();
  });

  test('a node killed outright is dropped by the others within the timeout', async () => {
    await watch(c, '/kill');
    await watch(c, '/kill');
    await watch(a, '/kill');
    await waitForMembers(b, 'kill', 3);
    const workers = c.workerPids();
    c.process.kill('SIGKILL');
    await c.exited;
    await waitFor(() => workers.every((pid) => !isAlive(pid)), 10_000, 'the orphaned workers to exit');
    await waitForMembers(a, 'kill', 1, 10_000);
    await waitForMembers(b, 'kill', 1, 10_000);
    await waitFor(async () => (await peersOf(b)).peers.length === 1, 10_000, 'B to forget C');
  });
});
