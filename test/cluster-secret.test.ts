// --cluster-secret: nodes sharing it sync; unsigned and wrongly signed datagrams change nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DatagramEncoder } from '../src/protocol/datagram.js';
import { waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { droppedTotal, peersOf, randomGroup, sendToGroup, startNode, waitForMesh } from './helpers/cluster.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';

const SECRET = 'correct horse battery staple';

describe('--cluster-secret', () => {
  const group = randomGroup();
  let a: Daemon;
  let b: Daemon;
  let viewer: SseClient;
  before(async () => {
    [a, b] = await Promise.all([
      startNode(group, ['--cluster-secret', SECRET]),
      startNode(group, [], { env: { AUDIENCE_METER_CLUSTER_SECRET: SECRET } }),
    ]);
    await waitForMesh([a, b]);
  });
  after(async () => {
    viewer?.close();
    await Promise.all([a, b].map((d) => d?.stop()));
  });

  test('nodes with the same secret (option or environment) count together', async () => {
    viewer = await openViewer(b.port, '/signed');
    await waitForMembers(a, 'signed', 1);
  });

  test('forged and unsigned datagrams are dropped and counted; a correctly signed one is accepted', async () => {
    const bId = (await peersOf(b)).self!.id;
    const intruder = { id: 'badc0ffee0ddf00d', incarnation: Date.now() };
    const unsigned = new DatagramEncoder(intruder, undefined);
    const wrongKey = new DatagramEncoder(intruder, 'not the secret at all, sorry');
    // Impersonating B: a goodbye would drop B's viewers if it were believed.
    const impostor = new DatagramEncoder({ id: bId, incarnation: Date.now() + 1000 }, 'not the secret at all, sorry');
    await sendToGroup(group, [
      ...unsigned.counts([['forged', 1000, 1000]]),
      ...wrongKey.counts([['forged', 1000, 1000]]),
      impostor.goodbye(),
      unsigned.notification('signed', 'chat=forged')!,
    ]);
    await waitFor(async () => {
      const report = await peersOf(a);
      return droppedTotal(report, 'unauthenticated') >= 2 && droppedTotal(report, 'bad tag') >= 2;
    }, 10_000, 'the forged datagrams to be counted as dropped');
    const stats = await a.stats();
    assert.equal('forged' in stats, false);
    assert.equal(stats.signed!.members, 1, 'B is still counted');
    assert.ok((await peersOf(a)).peers.some((peer) => peer.id === bId));
    assert.ok((await peersOf(a)).peers.every((peer) => peer.id !== intruder.id));
    assert.deepEqual(viewer.events.filter((e) => e.data === 'chat=forged'), []);

    // The same datagram with the right key gets in: the refusals above were the tag's doing.
    const genuine = new DatagramEncoder({ id: 'c0ffeec0ffeec0ff', incarnation: Date.now() }, SECRET);
    await sendToGroup(group, genuine.counts([['genuine', 7, 7]]));
    await waitForMembers(a, 'genuine', 7);
    await sendToGroup(group, [genuine.goodbye()]);
    await waitForMembers(a, 'genuine', 0);
  });
});
