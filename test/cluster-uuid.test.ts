// --enable-uuid across nodes: the newest stream of a uuid wins whichever node holds the others.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { httpStatus } from './helpers/http.js';
import { waitForMembers } from './helpers/daemon.js';
import { TRANSPORTS, twoNodes } from './helpers/cluster.js';

for (const kind of TRANSPORTS) describe(`--enable-uuid across nodes (${kind.name})`, { skip: kind.skip }, () => {
  const nodes = twoNodes(['--enable-uuid'], kind.scope);

  test('a new stream on one node ends the older stream of the same uuid on another', async () => {
    const onA = await nodes.watch(nodes.a, '/uu/user-1');
    await waitForMembers(nodes.b, 'uu', 1);
    const onB = await nodes.watch(nodes.b, '/uu/user-1');
    await onA.waitForEnd(5000);
    assert.equal(onB.ended, false);
    const againOnA = await nodes.watch(nodes.a, '/uu/user-1');
    await onB.waitForEnd(5000);
    assert.equal(againOnA.ended, false);
    await waitForMembers(nodes.a, 'uu', 1);
    await waitForMembers(nodes.b, 'uu', 1);
  });

  test('a plain request to /{ns}/{uuid} on one node ends that uuid\'s stream on another', async () => {
    const kicked = await nodes.watch(nodes.a, '/uu2/kick');
    const other = await nodes.watch(nodes.a, '/uu2/other');
    await waitForMembers(nodes.b, 'uu2', 2);
    assert.equal(await httpStatus(nodes.b.port, '/uu2/kick'), 200);
    await kicked.waitForEnd(5000);
    await waitForMembers(nodes.b, 'uu2', 1);
    assert.equal(other.ended, false);
  });
});
