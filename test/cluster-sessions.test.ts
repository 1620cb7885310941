// Identified sessions across the nodes of a cluster: --max-devices counts a user's streams on every node (a
// new device on one node expels the oldest on another, whose reconnection gets 204 on either node), and the
// stats' `users` counts a user watching on two nodes once, forgetting a node's users when the node is gone.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isAlive, sleep, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { httpRequest } from './helpers/http.js';
import { startNode, TRANSPORTS, twoNodes } from './helpers/cluster.js';
import type { SseClient } from './helpers/sse-client.js';
import { AUTH_SECRET, signToken } from './helpers/tokens.js';

const AUTH = ['--auth-secret', AUTH_SECRET];

function sessionOf(viewer: SseClient): string {
  return viewer.events[0]!.id!;
}

function waitForLine(daemon: Daemon, line: string): Promise<void> {
  return waitFor(() => daemon.stderr().includes(line), 5000, line);
}

async function usersIn(daemon: Daemon, ns: string): Promise<number> {
  return ((await daemon.stats())[ns] as { users?: number } | undefined)?.users ?? 0;
}

async function waitForUsers(daemon: Daemon, ns: string, expected: number, timeoutMs = 5000): Promise<void> {
  let last = -1;
  try {
    await waitFor(async () => (last = await usersIn(daemon, ns)) === expected, timeoutMs, `${expected} users in ${ns}`);
  } catch (error) {
    throw new Error(`${(error as Error).message} (last seen: ${last})`);
  }
}

for (const kind of TRANSPORTS) describe(`--max-devices across nodes (${kind.name})`, { skip: kind.skip }, () => {
  const nodes = twoNodes(['-d', ...AUTH, '--max-devices', '1', '--cluster-secret', 'a secret for the cluster'], kind.scope);

  test('a new device on node B expels the oldest on node A; its reconnection gets 204 on either node', async () => {
    const { a, b } = nodes;
    const token = await signToken({ sub: 'traveller' });
    const first = await nodes.watch(a, `/limited?token=${token}`);
    await waitForLine(a, `entry ${sessionOf(first)} `);
    const second = await nodes.watch(b, `/limited?token=${token}`);
    await first.waitForEnd();
    assert.deepEqual(first.events.at(-1), { event: 'expelled', data: 'device-limit-exceeded' });
    await waitForLine(a, `exit ${sessionOf(first)} reason=expelled`);
    assert.equal(second.ended, false, 'the new device keeps its stream');

    // The browser reconnects with Last-Event-ID, perhaps through a load balancer to the other node. A
    // browser waits seconds before it does; the news crosses nodes in a datagram sent as A decided.
    await waitForLine(b, `expelled elsewhere ${sessionOf(first)}`);
    const headers = { Accept: 'text/event-stream', 'Last-Event-ID': sessionOf(first) };
    for (const node of [b, a]) assert.equal((await httpRequest(node.port, `/limited?token=${token}`, { headers })).status, 204);

    // And back on A: B's device is now the oldest.
    const third = await nodes.watch(a, `/limited?token=${token}`);
    await second.waitForEnd();
    assert.deepEqual(second.events.at(-1), { event: 'expelled', data: 'device-limit-exceeded' });
    await waitForLine(a, `expelled elsewhere ${sessionOf(second)}`);
    assert.equal((await httpRequest(a.port, `/limited?token=${token}`, { headers: { ...headers, 'Last-Event-ID': sessionOf(second) } })).status, 204);
    assert.equal(third.ended, false);
    for (const node of [a, b]) {
      await waitForMembers(node, 'limited', 1);
      await waitForUsers(node, 'limited', 1);
    }
  });

  test('other users, and the same user in another namespace, are left alone', async () => {
    const { a, b } = nodes;
    const [one, two] = await Promise.all([signToken({ sub: 'one' }), signToken({ sub: 'two' })]);
    const viewers = [
      await nodes.watch(a, `/room?token=${one}`),
      await nodes.watch(b, `/room?token=${two}`),
      await nodes.watch(b, `/other-room?token=${one}`),
      await nodes.watch(b, '/room'),
    ];
    for (const node of [a, b]) await waitForUsers(node, 'room', 2);
    // Two rounds (0.2 s each) more: nobody was expelled late either.
    await sleep(500);
    assert.ok(viewers.every((viewer) => !viewer.ended), 'nobody was expelled');
  });
});

for (const kind of TRANSPORTS) describe(`users across nodes (${kind.name})`, { skip: kind.skip }, () => {
  const nodes = twoNodes(AUTH, kind.scope);

  test('a user watching on two nodes is one user; two users are two; one who leaves is gone from both counts', async () => {
    const { a, b } = nodes;
    const [u1, u2] = await Promise.all([signToken({ sub: 'u1' }), signToken({ sub: 'u2' })]);
    await nodes.watch(a, `/show?token=${u1}`);
    await nodes.watch(b, `/show?token=${u1}`);
    await nodes.watch(b, '/show');
    // B announced u1's session before it advertised these counts.
    for (const node of [a, b]) await waitForMembers(node, 'show', 3);
    const leaving = await nodes.watch(b, `/show?token=${u2}`);
    for (const node of [a, b]) await waitForUsers(node, 'show', 2);
    await sleep(500);
    for (const node of [a, b]) assert.equal(await usersIn(node, 'show'), 2, 'u1 is counted once, round after round');
    leaving.close();
    for (const node of [a, b]) await waitForUsers(node, 'show', 1);
  });

  test('a node that joins later learns every session at the next round', async () => {
    const late = await startNode(nodes.group, AUTH);
    try {
      await waitForUsers(late, 'show', 1);
      const token = await signToken({ sub: 'u3' });
      const viewer = await nodes.watch(late, `/show?token=${token}`);
      for (const node of [nodes.a, nodes.b, late]) await waitForUsers(node, 'show', 2);
      viewer.close();
      for (const node of [nodes.a, nodes.b]) await waitForUsers(node, 'show', 1);
    } finally {
      await late.stop();
    }
  });

  test('a node killed outright: its users leave the count after the node timeout', async () => {
    const { a, b } = nodes;
    const token = await signToken({ sub: 'only-on-b' });
    await nodes.watch(b, `/show?token=${token}`);
    await waitForUsers(a, 'show', 2);
    const workers = b.workerPids();
    b.process.kill('SIGKILL');
    await b.exited;
    await waitFor(() => workers.every((pid) => !isAlive(pid)), 10_000, 'the orphaned workers to exit');
    // u1 is still watching on A.
    await waitForUsers(a, 'show', 1, 10_000);
  });
});
