// Nodes that stop and start again. The node timeout is long here (30 s) and every wait is shorter, so only
// the goodbye and the incarnation number can make these pass, not expiry.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isAlive, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { peersOf, randomGroup, startNode, waitForMesh } from './helpers/cluster.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';

const LONG_TIMEOUT = ['--cluster-node-timeout', '30'];
const WAIT_MS = 10_000;

describe('nodes that stop and restart', () => {
  const group = randomGroup();
  let a: Daemon;
  let b: Daemon;
  const viewers: SseClient[] = [];
  before(async () => {
    [a, b] = await Promise.all([startNode(group, LONG_TIMEOUT), startNode(group, LONG_TIMEOUT)]);
    await waitForMesh([a, b]);
  });
  after(async () => {
    for (const viewer of viewers) viewer.close();
    await Promise.all([a, b].map((d) => d?.stop()));
  });

  async function watch(daemon: Daemon, path: string): Promise<SseClient> {
    const viewer = await openViewer(daemon.port, path);
    viewers.push(viewer);
    return viewer;
  }

  async function restartB(): Promise<void> {
    b = await startNode(group, LONG_TIMEOUT, { ports: b });
  }

  test('a node stopped with SIGTERM says goodbye: the others drop it at once', async () => {
    await watch(a, '/bye');
    await watch(b, '/bye');
    await watch(b, '/bye');
    await waitForMembers(a, 'bye', 3);
    const id = (await peersOf(b)).self!.id;
    assert.equal(await b.stop(), 0);
    await waitFor(async () => !(await peersOf(a)).peers.some((peer) => peer.id === id), WAIT_MS, 'A to drop B');
    await waitForMembers(a, 'bye', 1, WAIT_MS);
  });

  test('a restarted node (new incarnation) replaces its old counts instead of adding to them', async () => {
    await restartB();
    await waitForMesh([a, b]);
    const first = (await peersOf(b)).self!;
    await watch(b, '/again');
    await watch(b, '/again');
    await watch(a, '/again');
    await waitForMembers(a, 'again', 3);

    // Killed outright, B sends no goodbye: A keeps its last counts (2) until B comes back.
    const workers = b.workerPids();
    b.process.kill('SIGKILL');
    await b.exited;
    await waitFor(() => workers.every((pid) => !isAlive(pid)), WAIT_MS, 'the orphaned workers to exit');
    assert.equal((await a.stats()).again!.members, 3, 'A still counts what B last advertised');
    await restartB();
    const second = (await peersOf(b)).self!;
    assert.equal(second.id, first.id, 'the same node');
    assert.ok(second.incarnation > first.incarnation, 'a new incarnation');
    await watch(b, '/again');
    await waitForMembers(a, 'again', 2, WAIT_MS);
    await waitForMembers(b, 'again', 2, WAIT_MS);
    const peer = (await peersOf(a)).peers.find((p) => p.id === first.id);
    assert.equal(peer?.incarnation, second.incarnation);
  });
});
