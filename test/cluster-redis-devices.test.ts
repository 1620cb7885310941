// The device limit on Redis, decided in one script for the whole cluster (src/primary/cluster/redis-devices.ts):
// two nodes admitting the same user's devices at the same moment keep exactly one of them, and Redis's set of
// the cluster's devices holds exactly the ones that stay; a node killed outright takes its devices out of the
// set after the node timeout; a FLUSHDB of the cluster's database heals the set, and the limit holds after it.
// What both transports share (a new device on one node expelling the oldest on another) is in
// cluster-sessions.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { peersOf, startNode, waitForMesh } from './helpers/cluster.js';
import { isAlive, sleep, waitFor, type Daemon } from './helpers/daemon.js';
import { httpRequest } from './helpers/http.js';
import { redisScope, redisSkip, testClient } from './helpers/redis.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';
import { AUTH_SECRET, signToken } from './helpers/tokens.js';

const WAIT_MS = 10_000;
const ARGS = ['-d', '--auth-secret', AUTH_SECRET, '--max-devices', '1', '--cluster-secret', 'a secret for the cluster'];
/** A database of this file's own (cluster-redis.test.ts flushes one of 10–15, the other suites share 9): FLUSHDB here, never FLUSHALL. */
const DB = 7;
const EXPELLED = { event: 'expelled', data: 'device-limit-exceeded' };

function sessionOf(viewer: SseClient): string {
  return viewer.events[0]!.id!;
}

function expelled(viewer: SseClient): boolean {
  return viewer.ended && JSON.stringify(viewer.events.at(-1)) === JSON.stringify(EXPELLED);
}

/** What Redis's set of devices holds: [namespace, session, holder node] of each member. */
async function devices(client: ReturnType<typeof testClient>, prefix: string): Promise<[string, string, string][]> {
  const members = await client.zrange(`${prefix}{cluster}:devices`, 0, -1);
  return members.map((member) => {
    const [ns, , , session, node] = member.split('\u0000');
    return [ns!, session!, node!];
  });
}

async function reconnect(daemon: Daemon, path: string, session: string): Promise<number> {
  return (await httpRequest(daemon.port, path, { headers: { Accept: 'text/event-stream', 'Last-Event-ID': session } })).status;
}

describe('the device limit decided in Redis', { skip: redisSkip }, () => {
  const scope = redisScope({ db: DB });
  const client = testClient(DB);
  const viewers: SseClient[] = [];
  let a: Daemon;
  let b: Daemon;
  let ids: Record<string, string>;

  async function watch(daemon: Daemon, path: string): Promise<SseClient> {
    const viewer = await openViewer(daemon.port, path);
    viewers.push(viewer);
    return viewer;
  }

  /** The sessions of `ns` in Redis's set, by holder node. */
  async function devicesIn(ns: string): Promise<Map<string, string>> {
    return new Map((await devices(client, scope.prefix)).filter(([n]) => n === ns).map(([, session, node]) => [session, node]));
  }

  before(async () => {
    [a, b] = await Promise.all([startNode(scope, ARGS), startNode(scope, ARGS)]);
    await waitForMesh([a, b]);
    ids = { a: (await peersOf(a)).self!.id, b: (await peersOf(b)).self!.id };
  });
  after(async () => {
    for (const viewer of viewers) viewer.close();
    await Promise.all([a, b].map((d) => d?.stop()));
    await scope.cleanup();
    client.disconnect();
  });

  test('two nodes admitting the same user\'s devices at the same moment keep exactly one, round after round', async () => {
    const USERS = 6;
    for (let round = 0; round < 4; round++) {
      const ns = `race-${round}`;
      const tokens = await Promise.all(Array.from({ length: USERS }, (_, i) => signToken({ sub: `racer-${round}-${i}` })));
      // Every user opens a device on A and one on B at once, all users at once.
      const pairs = await Promise.all(tokens.map((token) => Promise.all([watch(a, `/${ns}?token=${token}`), watch(b, `/${ns}?token=${token}`)])));
      await waitFor(() => pairs.every((pair) => pair.some(expelled)), WAIT_MS, `one device of each user expelled in round ${round}`);
      // Two rounds more (0.2 s each): no late second expulsion either.
      await sleep(500);
      const kept = new Map<string, string>();
      for (const [i, [onA, onB]] of pairs.entries()) {
        assert.equal([onA, onB].filter((viewer) => viewer.ended).length, 1, `exactly one of a user's two devices ends (round ${round})`);
        const [gone, stays] = expelled(onA) ? [onA, onB] : [onB, onA];
        kept.set(sessionOf(stays), stays === onA ? ids.a! : ids.b!);
        for (const node of [a, b]) assert.equal(await reconnect(node, `/${ns}?token=${tokens[i]!}`, sessionOf(gone)), 204, 'the expelled device\'s reconnection, on either node');
      }
      // Cluster-wide, Redis holds exactly the devices that stay, each with the node that holds it.
      assert.deepEqual(await devicesIn(ns), kept);
      for (const node of [a, b]) await waitFor(async () => ((await node.stats())[ns] as { users?: number } | undefined)?.users === USERS, WAIT_MS, `${USERS} users on both nodes`);
    }
  });

  test('a node killed outright: its devices leave Redis\'s set after the node timeout', async () => {
    const c = await startNode(scope, ARGS);
    const workers = c.workerPids();
    try {
      await waitForMesh([a, b, c]);
      const idC = (await peersOf(c)).self!.id;
      const token = await signToken({ sub: 'on-c' });
      const onC = await openViewer(c.port, `/killed?token=${token}`);
      await waitFor(async () => [...(await devicesIn('killed')).values()].includes(idC), WAIT_MS, 'C\'s device in Redis');
      c.process.kill('SIGKILL');
      await c.exited;
      await waitFor(async () => (await devicesIn('killed')).size === 0, WAIT_MS, 'C\'s device to leave the set');
      assert.equal(await client.exists(`${scope.prefix}{cluster}:sessions:${idC}`), 0);
      // The same user on A now: the only device, nothing expelled.
      const onA = await watch(a, `/killed?token=${token}`);
      await waitFor(async () => (await devicesIn('killed')).get(sessionOf(onA)) === ids.a, WAIT_MS, 'A\'s device in Redis');
      await sleep(500);
      assert.equal(onA.ended, false);
      onC.close();
    } finally {
      await waitFor(() => workers.every((pid) => !isAlive(pid)), WAIT_MS, 'the orphaned workers to exit');
    }
  });

  test('FLUSHDB: every node re-asserts its devices, and the limit holds after it', async () => {
    const token = await signToken({ sub: 'flushed' });
    const first = await watch(a, `/flushed?token=${token}`);
    await waitFor(async () => (await devicesIn('flushed')).has(sessionOf(first)), WAIT_MS, 'the first device in Redis');
    await client.flushdb();
    await waitFor(async () => (await devicesIn('flushed')).get(sessionOf(first)) === ids.a, WAIT_MS, 'A to re-assert its device');
    const second = await watch(b, `/flushed?token=${token}`);
    await waitFor(() => expelled(first), WAIT_MS, 'the first device to be expelled');
    for (const node of [a, b]) assert.equal(await reconnect(node, `/flushed?token=${token}`, sessionOf(first)), 204);
    await sleep(500);
    assert.equal(second.ended, false);
    assert.deepEqual(await devicesIn('flushed'), new Map([[sessionOf(second), ids.b]]));
  });
});
