// A node's whole sessions on Redis (more than one call's worth: redis-sessions.ts), asserted after its counts
// and announced, not pushed: the node publishes one short message for its whole state, and the other node
// reads the sessions from Redis; asserted again whole (after Redis lost the node's state) with fewer, the
// other node ends exactly the missing ones, never ending and reopening one that stayed, and the device
// limit's set holds exactly what the node holds. Two nodes of the daemon's own transport class in this
// process (a daemon holding 2,500 identified sessions needs 2,500 viewers); the device limit's rule itself
// runs on real daemons in cluster-redis-devices.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { AudienceTable } from '../src/primary/audience-table.js';
import type { ClusterSession, ClusterSink } from '../src/primary/cluster/cluster.js';
import { RedisCluster } from '../src/primary/cluster/redis-cluster.js';
import { redisNames } from '../src/primary/cluster/redis-keys.js';
import { SESSIONS_PER_CALL } from '../src/primary/cluster/redis-sessions.js';
import { waitFor } from './helpers/daemon.js';
import { deleteKeys, redisSkip, REDIS_URL, TEST_DB, testClient, uniquePrefix } from './helpers/redis.js';

const SESSIONS = 2 * SESSIONS_PER_CALL + 500;
const WAIT_MS = 30_000;

function node(prefix: string, sessions: () => Iterable<ClusterSession>, sink: ClusterSink): RedisCluster {
  const table = new AudienceTable();
  table.setMembers('worker:1', 'ev', 1, 1);
  const identity = { id: randomBytes(8).toString('hex'), incarnation: Date.now() };
  return new RedisCluster({ url: `${REDIS_URL}/${TEST_DB}`, cluster: false, prefix, notifyIntervalMs: 300, nodeTimeoutMs: 10_000, secret: undefined, identity, maxDevices: 0 },
    { counts: () => table.localCounts(), countChanges: () => table.takeLocalChanges(), sessions }, sink);
}

describe('a node\'s whole sessions on Redis, announced, not pushed', { skip: redisSkip }, () => {
  const prefix = uniquePrefix();
  const names = redisNames(prefix);
  const redis = testClient();
  const subscriber = testClient();
  let held: ClusterSession[] = Array.from({ length: SESSIONS }, (_, i) => ({
    session: randomBytes(16).toString('base64url'), ns: 'ev', user: i.toString(16).padStart(16, '0'), at: 1_700_000_000_000 + i,
  }));
  /** What B heard of A's sessions: those open, how many openings and endings it was told of. */
  const heard = { open: new Set<string>(), opened: 0, ended: 0 };
  const quiet: ClusterSink = { counts() {}, gone() {}, notification() {}, exclusions() {}, sessions() {}, expelled() {}, expel() {} };
  const a = node(prefix, () => held, quiet);
  const b = node(prefix, () => [], {
    ...quiet,
    sessions(source, open, ended) {
      if (source !== `node:${a.self}`) return;
      for (const s of open) if (!heard.open.has(s.session)) (heard.open.add(s.session), heard.opened++);
      for (const id of ended) if (heard.open.delete(id)) heard.ended++;
    },
  });
  /** A's state messages as Redis publishes them. */
  const messages: { f?: number; o: unknown[] }[] = [];

  after(async () => {
    await Promise.all([a.stop(), b.stop()]);
    subscriber.disconnect();
    redis.disconnect();
    await deleteKeys(prefix);
  });

  test('go in several calls after the counts; one short message announces them; the other node reads them all', async () => {
    await subscriber.subscribe(names.state);
    subscriber.on('message', (_channel: string, raw: string) => {
      const m = JSON.parse(raw) as { n: string; f?: number; o: unknown[] };
      if (m.n === a.self) messages.push(m);
    });
    await Promise.all([a.start(), b.start()]);
    await waitFor(() => a.isJoined() && b.isJoined(), WAIT_MS, 'both nodes to join');
    await waitFor(() => heard.open.size === SESSIONS, WAIT_MS, 'B to hold every session of A');
    assert.equal(await redis.hlen(names.sessions(a.self)), SESSIONS);
    assert.equal(await redis.zcard(names.devices), SESSIONS);
    assert.deepEqual(messages.map((m) => [m.f, m.o.length]), [[1, 0]], 'one message, the announcement, carrying no session');
  });

  test('asserted again whole with fewer: the other node ends exactly the missing ones', async () => {
    const kept = held.slice(0, SESSIONS - SESSIONS_PER_CALL);
    held = kept;
    messages.length = 0;
    // Redis loses A's state (as a flush would): its next round is refused, and it asserts everything again.
    await redis.del(names.counts(a.self));
    await waitFor(() => heard.open.size === kept.length, WAIT_MS, 'B to end the sessions A no longer holds');
    assert.equal(heard.opened, SESSIONS, 'no session that stayed was opened again');
    assert.equal(heard.ended, SESSIONS_PER_CALL, 'none that stayed was ended');
    assert.deepEqual([...heard.open].sort(), kept.map((s) => s.session).sort());
    assert.equal(await redis.hlen(names.sessions(a.self)), kept.length);
    assert.equal(await redis.zcard(names.devices), kept.length);
    await waitFor(() => messages.length > 0, WAIT_MS, 'A\'s announcement');
    assert.deepEqual(messages.map((m) => [m.f, m.o.length]), [[1, 0]]);
    assert.ok(a.isJoined());
  });
});
