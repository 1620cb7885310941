// A rolling restart behind a load balancer (docs/load-balancers.md): two real nodes in one cluster (each transport),
// a balancer of the test's own that probes GET /readyz every 200 ms and sends each new connection to the next
// ready node, and viewers that reconnect after `retry:` as browsers do. Each node in turn gets SIGTERM with
// --drain-seconds and is started again: its viewers are ended spread over the window, each with a `retry:`,
// and move to the other node; no reconnection is refused; the totals are exact on every node at the end.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { startNode, TRANSPORTS, waitForMesh } from './helpers/cluster.js';
import { waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { LoadBalancer } from './helpers/load-balancer.js';
import { ReconnectingViewer } from './helpers/reconnecting-viewer.js';

const NS = 'rolling';
const DRAIN = ['--drain-seconds', '4'];
const VIEWERS = 40;

for (const kind of TRANSPORTS) describe(`a rolling restart (${kind.name})`, { skip: kind.skip }, () => {
  const group = kind.scope();
  const nodes: Daemon[] = [];
  const viewers: ReconnectingViewer[] = [];
  let balancer: LoadBalancer | undefined;

  after(async () => {
    await Promise.all(viewers.map((viewer) => viewer.close()));
    balancer?.close();
    await Promise.all(nodes.map((node) => node.stop()));
    await group.cleanup?.();
  });

  async function everyNodeCounts(expected: number): Promise<void> {
    for (const node of nodes) await waitForMembers(node, NS, expected, 10_000);
  }

  test('a rolling restart behind a load balancer: viewers move over in the window, none refused, counts exact', async () => {
    nodes.push(...await Promise.all([startNode(group, DRAIN, { workers: 2 }), startNode(group, DRAIN, { workers: 2 })]));
    await waitForMesh(nodes);
    balancer = new LoadBalancer(nodes.map((node) => node.port));
    const lb = balancer;
    const port = await lb.listen();
    await waitFor(() => lb.backends.every((backend) => backend.up), 10_000, 'both nodes to be up at the balancer');

    for (let i = 0; i < VIEWERS; i++) viewers.push(new ReconnectingViewer(port, `/${NS}`));
    await waitFor(() => viewers.every((viewer) => viewer.open), 10_000, 'every viewer to stream');
    await everyNodeCounts(VIEWERS);
    for (const node of nodes) assert.ok(lb.backend(node.port).active > 0, 'viewers on both nodes');

    for (const index of [0, 1]) {
      const node = nodes[index]!;
      const other = nodes[1 - index]!;
      const onNode = lb.backend(node.port).active;
      const endedBefore = viewers.map((viewer) => viewer.ended.length);
      node.process.kill('SIGTERM');
      // Not one wave: when its first viewer goes, most of the others are still there.
      await waitFor(() => lb.backend(node.port).active < onNode, 10_000, 'the first viewer to leave the drained node');
      const stayedWhenFirstLeft = lb.backend(node.port).active;
      assert.ok(stayedWhenFirstLeft >= onNode / 2, `${stayedWhenFirstLeft} of ${onNode} still there when the first left`);
      assert.equal(await node.exited, 0);
      const exitedAt = Date.now();

      // Its viewers were ended by the drain, each told when to come back.
      const moved = viewers.filter((viewer, i) => viewer.ended.length > endedBefore[i]!);
      assert.equal(moved.length, onNode, 'every viewer of the drained node, and only those, was ended');
      for (const [i, viewer] of viewers.entries()) {
        if (!moved.includes(viewer)) continue;
        assert.equal(viewer.ended.length, endedBefore[i]! + 1, 'moved once: the balancer sent it straight to the other node');
        const attempt = viewer.ended.at(-1)!;
        assert.equal(attempt.status, 200);
        assert.ok(attempt.retry !== undefined && attempt.retry >= 500 && attempt.retry <= 1500, `ended with a retry: (${attempt.retry})`);
        assert.ok(attempt.endedAt <= exitedAt, 'ended within the window, before the node stopped');
      }

      // All of them are back, on the other node, and counted once.
      await waitFor(() => viewers.every((viewer) => viewer.open), 10_000, 'every viewer to stream again');
      assert.equal(lb.backend(other.port).active, VIEWERS);
      await waitForMembers(other, NS, VIEWERS, 10_000);

      // The node comes back as a new incarnation on the same ports and takes viewers again.
      nodes[index] = await startNode(group, DRAIN, { workers: 2, ports: node });
      await waitForMesh(nodes);
      await waitFor(() => lb.backend(node.port).up, 10_000, 'the restarted node to be up at the balancer');
      await everyNodeCounts(VIEWERS);
    }

    // New viewers spread over both restarted nodes; every node counts everyone exactly once.
    for (let i = 0; i < 10; i++) viewers.push(new ReconnectingViewer(port, `/${NS}`));
    await waitFor(() => viewers.every((viewer) => viewer.open), 10_000, 'the new viewers to stream');
    await everyNodeCounts(VIEWERS + 10);
    for (const node of nodes) assert.ok(lb.backend(node.port).active > 0, 'viewers on both nodes again');

    assert.deepEqual(viewers.flatMap((viewer) => viewer.refusals()), [], 'no reconnection was refused');
    assert.equal(lb.refused, 0, 'the balancer always had a node to send a connection to');
  });
});
