// A node's whole state at the size --max-namespaces allows (100,000 namespaces here), asserted to the real
// Redis: in chunks (one call spreading every namespace overflowed the stack and the node reported Redis
// unreachable), heard whole by another node, then only its changes each round, and asserted again whole when
// Redis loses it. The two nodes are the daemon's own transport class on the audience table the daemon uses,
// in this process (a daemon holding 100,000 namespaces needs 100,000 viewers); the other behaviours run on
// real daemons in cluster-redis.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { AudienceTable } from '../src/primary/audience-table.js';
import type { ClusterSink, NodeCount } from '../src/primary/cluster/cluster.js';
import { RedisCluster } from '../src/primary/cluster/redis-cluster.js';
import { redisNames } from '../src/primary/cluster/redis-keys.js';
import { waitFor } from './helpers/daemon.js';
import { deleteKeys, redisSkip, REDIS_URL, TEST_DB, testClient, uniquePrefix } from './helpers/redis.js';

// The --max-namespaces default, and the most a node counts of another node (redis-cluster.ts LIMITS).
const NAMESPACES = 100_000;
const WAIT_MS = 30_000;
/** The fields of a counts hash that are no namespace (redis-scripts.ts: incarnation, seq, call). */
const CONTROL_FIELDS = 3;

/** What a node hears of the others: node → ns → members. */
function listeningSink(): { sink: ClusterSink; heard: Map<string, Map<string, number>> } {
  const heard = new Map<string, Map<string, number>>();
  const sink: ClusterSink = {
    counts(node: string, entries: readonly NodeCount[]) {
      let counts = heard.get(node);
      if (!counts) heard.set(node, (counts = new Map()));
      for (const [ns, members, connections] of entries) {
        if (members === 0 && connections === 0) counts.delete(ns);
        else counts.set(ns, members);
      }
    },
    gone: (node) => void heard.delete(node),
    notification() {},
    exclusions() {},
    sessions() {},
    expelled() {},
    expel() {},
  };
  return { sink, heard };
}

function node(prefix: string, table: AudienceTable, sink: ClusterSink): RedisCluster {
  const identity = { id: randomBytes(8).toString('hex'), incarnation: Date.now() };
  return new RedisCluster({ url: `${REDIS_URL}/${TEST_DB}`, cluster: false, prefix, notifyIntervalMs: 300, nodeTimeoutMs: 10_000, secret: undefined, identity, maxDevices: 0 },
    { counts: () => table.localCounts(), countChanges: () => table.takeLocalChanges(), sessions: () => [] }, sink);
}

const sumOf = (counts: Map<string, number> | undefined): number => [...(counts?.values() ?? [])].reduce((a, b) => a + b, 0);

describe('a whole state of 100,000 namespaces on Redis', { skip: redisSkip }, () => {
  const prefix = uniquePrefix();
  const redis = testClient();
  const big = new AudienceTable();
  for (let k = 0; k < NAMESPACES; k++) big.setMembers('worker:1', `ns-${k}`, 1 + (k % 3), 0);
  const expected = sumOf(new Map(big.localCounts().map(([ns, members]) => [ns, members])));
  const listener = listeningSink();
  const a = node(prefix, big, { ...listeningSink().sink });
  const b = node(prefix, new AudienceTable(), listener.sink);
  const countsKey = redisNames(prefix).counts(a.self);

  after(async () => {
    await Promise.all([a.stop(), b.stop()]);
    redis.disconnect();
    await deleteKeys(prefix);
  });

  test('goes to Redis in chunks, and the other node hears all of it', async () => {
    await Promise.all([a.start(), b.start()]);
    await waitFor(() => a.isJoined() && b.isJoined(), WAIT_MS, 'both nodes to join');
    assert.equal(a.describe().self!.redis!.lastError, null, 'the assertion never failed');
    // Every namespace, plus the incarnation, sequence and last-call fields.
    assert.equal(await redis.hlen(countsKey), NAMESPACES + CONTROL_FIELDS);
    await waitFor(() => listener.heard.get(`node:${a.self}`)?.size === NAMESPACES, WAIT_MS, 'B to hear every namespace of A');
    assert.equal(sumOf(listener.heard.get(`node:${a.self}`)), expected);
  });

  test('then sends only its changes, and nothing when nothing changes', async () => {
    big.setMembers('worker:1', 'ns-7', 50, 1);
    big.setMembers('worker:1', 'ns-8', 0, 1);
    big.setMembers('worker:1', 'new-one', 4, 1);
    const heardOfA = (): Map<string, number> | undefined => listener.heard.get(`node:${a.self}`);
    await waitFor(() => heardOfA()?.get('ns-7') === 50 && !heardOfA()?.has('ns-8') && heardOfA()?.get('new-one') === 4, WAIT_MS, 'B to hear the three changes');
    assert.equal(await redis.hget(countsKey, 'ns-7'), '50 0');
    assert.equal(await redis.hexists(countsKey, 'ns-8'), 0);
    const sent = a.describe().self!.sent;
    await waitFor(() => a.describe().self!.sent.rounds >= sent.rounds + 3, WAIT_MS, 'three more rounds');
    const later = a.describe().self!.sent;
    assert.equal(later.bytes, sent.bytes, 'an unchanged state costs no payload');
    assert.equal(later.commands! - sent.commands!, later.rounds - sent.rounds, 'one script call per round');
  });

  test('goes again whole, in chunks, when Redis loses it', async () => {
    await redis.del(countsKey);
    await waitFor(async () => (await redis.hlen(countsKey)) === NAMESPACES + CONTROL_FIELDS, WAIT_MS, 'A to assert its whole state again');
    assert.equal(await redis.hget(countsKey, 'new-one'), '4 0');
    await waitFor(() => listener.heard.get(`node:${a.self}`)?.size === NAMESPACES, WAIT_MS, 'B to hold A\'s whole state again');
    assert.ok(a.isJoined());
  });
});
