// A connection lost in the middle of a call: the node's calls reached Redis and ran there (a change applied,
// a message published with its sequence number) but their answers never came back, and then the connection
// died. The node cannot know whether the call ran, so it must never send that number again (the others would
// take a repeat for a message they had and ignore the change in it), must rejoin by itself, and the counts on
// both nodes must come out exact, with nothing counted twice. A TCP proxy of the test's own, in front of the
// shared Redis, lets A's commands through but drops Redis's answers, then resets A's connections.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { peersOf, proxiedRedisPair } from './helpers/cluster.js';
import { sleep, waitFor, waitForMembers } from './helpers/daemon.js';
import { redisSkip } from './helpers/redis.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';

const WAIT_MS = 15_000;
/** Past the transport's 3 s command timeout, so A's round surely timed out with its connection up first. */
const SWALLOW_MS = 4500;

describe('a connection lost while a round is in Redis', { skip: redisSkip }, () => {
  // A node timeout past the whole episode: A must not be dropped as silent, its rejoin is what is tested.
  const nodes = proxiedRedisPair(['--cluster-node-timeout', '20']);
  const viewers: SseClient[] = [];
  after(() => { for (const viewer of viewers) viewer.close(); });

  test('the node rejoins, its later changes reach the other node, and nothing is counted twice', async () => {
    const { a, b } = nodes;
    viewers.push(await openViewer(a.port, '/lost'), await openViewer(b.port, '/lost'));
    for (const node of [a, b]) await waitForMembers(node, 'lost', 2, WAIT_MS);

    const swallowedAt = Date.now();
    nodes.proxy.swallowReplies();
    viewers.push(await openViewer(a.port, '/lost'));
    // A's next round reaches Redis and runs there, so B hears of the new viewer although A never gets the
    // answer; unless A was still waiting for an earlier call's answer when they started to be dropped (it
    // then waits for that call, asking Redis whether it ran, and asks in vain). Either way A has calls
    // whose outcome it cannot know when its connection dies; which of the two it was is not the point.
    await waitForMembers(b, 'lost', 3, SWALLOW_MS).catch(() => {});
    await sleep(Math.max(0, SWALLOW_MS - (Date.now() - swallowedAt)));
    await nodes.proxy.stop();
    await nodes.proxy.start();
    await waitFor(async () => (await peersOf(a)).self!.redis!.joined, WAIT_MS, 'A to rejoin');
    for (const node of [a, b]) await waitForMembers(node, 'lost', 3, WAIT_MS);

    // A change after the lost call: it must reach B, which it would not if A reused a number B had seen.
    viewers.push(await openViewer(a.port, '/lost'));
    for (const node of [a, b]) await waitForMembers(node, 'lost', 4, WAIT_MS);
    viewers.shift()!.close();
    for (const node of [a, b]) await waitForMembers(node, 'lost', 3, WAIT_MS);
    const [fromA, fromB] = await Promise.all([peersOf(a), peersOf(b)]);
    assert.equal(fromB.peers.filter((peer) => peer.id === fromA.self!.id).length, 1, 'B knows A once');
    assert.equal(fromA.peers.length, 1);
  });
});
