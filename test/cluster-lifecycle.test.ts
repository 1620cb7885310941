// Nodes that stop and start again. The node timeout is long here (30 s) and every wait is shorter, so only
// the goodbye and the incarnation number can make these pass, not expiry.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isAlive, waitFor, waitForMembers } from './helpers/daemon.js';
import { peersOf, startNode, TRANSPORTS, twoNodes, waitForMesh } from './helpers/cluster.js';

const LONG_TIMEOUT = ['--cluster-node-timeout', '30'];
const WAIT_MS = 10_000;

for (const kind of TRANSPORTS) describe(`nodes that stop and restart (${kind.name})`, { skip: kind.skip }, () => {
  const nodes = twoNodes(LONG_TIMEOUT, kind.scope);
  const { group } = nodes;

  async function restartB(): Promise<void> {
    nodes.b = await startNode(group, LONG_TIMEOUT, { ports: nodes.b });
  }

  test('a node stopped with SIGTERM says goodbye: the others drop it at once', async () => {
    await nodes.watch(nodes.a, '/bye');
    await nodes.watch(nodes.b, '/bye');
    await nodes.watch(nodes.b, '/bye');
    await waitForMembers(nodes.a, 'bye', 3);
    const id = (await peersOf(nodes.b)).self!.id;
    assert.equal(await nodes.b.stop(), 0);
    await waitFor(async () => !(await peersOf(nodes.a)).peers.some((peer) => peer.id === id), WAIT_MS, 'A to drop B');
    await waitForMembers(nodes.a, 'bye', 1, WAIT_MS);
  });

  test('a restarted node (new incarnation) replaces its old counts instead of adding to them', async () => {
    await restartB();
    await waitForMesh([nodes.a, nodes.b]);
    const first = (await peersOf(nodes.b)).self!;
    await nodes.watch(nodes.b, '/again');
    await nodes.watch(nodes.b, '/again');
    await nodes.watch(nodes.a, '/again');
    await waitForMembers(nodes.a, 'again', 3);

    // Killed outright, B sends no goodbye: A keeps its last counts (2) until B comes back.
    const workers = nodes.b.workerPids();
    nodes.b.process.kill('SIGKILL');
    await nodes.b.exited;
    await waitFor(() => workers.every((pid) => !isAlive(pid)), WAIT_MS, 'the orphaned workers to exit');
    assert.equal((await nodes.a.stats()).again!.members, 3, 'A still counts what B last advertised');
    await restartB();
    const second = (await peersOf(nodes.b)).self!;
    assert.equal(second.id, first.id, 'the same node');
    assert.ok(second.incarnation > first.incarnation, 'a new incarnation');
    await nodes.watch(nodes.b, '/again');
    await waitForMembers(nodes.a, 'again', 2, WAIT_MS);
    await waitForMembers(nodes.b, 'again', 2, WAIT_MS);
    const peer = (await peersOf(nodes.a)).peers.find((p) => p.id === first.id);
    assert.equal(peer?.incarnation, second.incarnation);
  });
});
