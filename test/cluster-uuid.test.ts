// --enable-uuid across nodes: the newest stream of a uuid wins whichever node holds the others.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { waitForMembers, type Daemon } from './helpers/daemon.js';
import { randomGroup, startNode, waitForMesh } from './helpers/cluster.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';

function plainGet(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent: false }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject).end();
  });
}

describe('--enable-uuid across nodes', () => {
  const group = randomGroup();
  let a: Daemon;
  let b: Daemon;
  const viewers: SseClient[] = [];
  before(async () => {
    [a, b] = await Promise.all([startNode(group, ['--enable-uuid']), startNode(group, ['--enable-uuid'])]);
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

  test('a new stream on one node ends the older stream of the same uuid on another', async () => {
    const onA = await watch(a, '/uu/user-1');
    await waitForMembers(b, 'uu', 1);
    const onB = await watch(b, '/uu/user-1');
    await onA.waitForEnd(5000);
    assert.equal(onB.ended, false);
    const againOnA = await watch(a, '/uu/user-1');
    await onB.waitForEnd(5000);
    assert.equal(againOnA.ended, false);
    await waitForMembers(a, 'uu', 1);
    await waitForMembers(b, 'uu', 1);
  });

  test('a plain request to /{ns}/{uuid} on one node ends that uuid\'s stream on another', async () => {
    const kicked = await watch(a, '/uu2/kick');
    const other = await watch(a, '/uu2/other');
    await waitForMembers(b, 'uu2', 2);
    assert.equal(await plainGet(b.port, '/uu2/kick'), 200);
    await kicked.waitForEnd(5000);
    await waitForMembers(b, 'uu2', 1);
    assert.equal(other.ended, false);
  });
});
