// The device limit's script on a real Redis (src/primary/cluster/redis-devices.ts), called as a node calls it
// (RedisSessions), on a prefix of its own: the rule of device-limit.ts (newest by entry time, ties by session
// id), ends that make room, a whole re-assertion replacing one node's members only, a node dropped taking its
// members along, and a refusal once Redis lost the node's incarnation.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { ClusterSession } from '../src/primary/cluster/cluster.js';
import { ENDED } from '../src/primary/cluster/cluster.js';
import { defineSessionsScript } from '../src/primary/cluster/redis-devices.js';
import { redisNames } from '../src/primary/cluster/redis-keys.js';
import { defineScripts, INCARNATION_FIELD } from '../src/primary/cluster/redis-scripts.js';
import { RedisSessions, SESSIONS_PER_CALL, type Eviction } from '../src/primary/cluster/redis-sessions.js';
import { deleteKeys, redisSkip, testClient, uniquePrefix } from './helpers/redis.js';

const A = { id: 'aaaaaaaaaaaaaaaa', incarnation: 11 };
const B = { id: 'bbbbbbbbbbbbbbbb', incarnation: 22 };
const USER = '0123456789abcdef';
const OTHER = 'fedcba9876543210';

/** A session id of 22 characters that sorts as `n` does (the script takes ids as they come). */
function sid(n: number): string {
  return `s${String(n).padStart(21, '0')}`;
}

function open(n: number, at: number, user = USER, ns = 'ev'): ClusterSession {
  return { session: sid(n), ns, user, at };
}

describe('the device limit\'s script', { skip: redisSkip }, () => {
  const prefix = uniquePrefix();
  const names = redisNames(prefix);
  const client = testClient();
  const script = defineSessionsScript(client);
  after(async () => {
    await deleteKeys(prefix);
    client.disconnect();
  });

  /** One node's calls, as RedisCluster makes them; returns the evictions. */
  function node(identity: typeof A, maxDevices: number) {
    const sessions = new RedisSessions(identity, names, maxDevices, script);
    let seq = 0;
    return async (changes: ClusterSession[], whole = false): Promise<Eviction[] | 'refused'> => {
      const evicted: Eviction[] = [];
      if (!whole) sessions.queue(changes);
      const held = await sessions.assert(whole, () => changes, { nextSeq: () => ++seq, evicted: (e) => evicted.push(...e), sent: () => {} });
      return held ? evicted : 'refused';
    };
  }

  async function members(): Promise<string[]> {
    return (await client.zrange(names.devices, 0, -1)).map((m) => m.split('\u0000').slice(3).join('@'));
  }

  test('keeps the newest, ties by session id, across nodes; an end makes room; other users and namespaces apart', async () => {
    for (const { id, incarnation } of [A, B]) await client.hset(names.counts(id), INCARNATION_FIELD, String(incarnation));
    const a = node(A, 2);
    const b = node(B, 2);
    assert.deepEqual(await a([open(1, 100), open(2, 300)]), []);
    // B's session entered between A's two: A's first is the oldest now.
    assert.deepEqual(await b([open(3, 200)]), [[A.id, sid(1)]]);
    // Same entry time as A's newest, larger session id: the smaller id is the older one.
    assert.deepEqual(await b([open(4, 300)]), [[B.id, sid(3)]]);
    assert.deepEqual(await members(), [`${sid(2)}@${A.id}`, `${sid(4)}@${B.id}`]);
    // A session that ends makes room: none expelled for the next one.
    assert.deepEqual(await a([{ ...open(2, 300), at: ENDED }, open(5, 400)]), []);
    assert.deepEqual(await a([open(6, 50, OTHER), open(7, 60, USER, 'other-ns')]), []);
    // Ordered by namespace, user, entry time.
    assert.deepEqual(await members(), [`${sid(4)}@${B.id}`, `${sid(5)}@${A.id}`, `${sid(6)}@${A.id}`, `${sid(7)}@${A.id}`]);
    assert.deepEqual((await client.zrangebyscore(names.expelled, '-inf', '+inf')).sort(), [sid(1), sid(3)]);
  });

  test('a whole re-assertion replaces that node\'s members only, and applies the rule to them', async () => {
    const a = node(A, 1);
    // A holds 5 (USER, ev), 6 and 7; it re-asserts 5 and a new, older 8 (USER, ev): 8 goes, B's 4 too.
    const evicted = await a([open(8, 10), open(5, 400)], true);
    assert.deepEqual(evicted === 'refused' ? evicted : evicted.sort(), [[A.id, sid(8)], [B.id, sid(4)]]);
    assert.deepEqual(await members(), [`${sid(5)}@${A.id}`]);
    assert.deepEqual(Object.keys(await client.hgetall(names.sessions(A.id))).sort(), [sid(5), sid(8)]);
  });

  test('a node dropped takes its members along; a node whose incarnation Redis lost is refused', async () => {
    await node(B, 1)([open(9, 500, OTHER)]);
    const drop = defineScripts(client).dropNode;
    await drop([names.nodes, names.counts(A.id), names.sessions(A.id), names.devices], [A.id, 'goodbye', A.incarnation, names.all, 1]);
    assert.deepEqual(await members(), [`${sid(9)}@${B.id}`]);
    assert.equal(await node(A, 1)([open(10, 600)]), 'refused');
    assert.deepEqual(await members(), [`${sid(9)}@${B.id}`]);
  });

  test('a whole re-assertion of many sessions goes in bounded calls, the first and last marked', async () => {
    const C = { id: 'cccccccccccccccc', incarnation: 33 };
    await client.hset(names.counts(C.id), INCARNATION_FIELD, String(C.incarnation));
    const calls: string[] = [];
    const counting: typeof script = (keys, args) => {
      const message = JSON.parse(String(args[5])) as { fs?: 1; fl?: 1; o: unknown[] };
      calls.push(`${message.o.length}${message.fs ? ' first' : ''}${message.fl ? ' last' : ''}`);
      return script(keys, args);
    };
    const sessions = new RedisSessions(C, names, 1, counting);
    const many = Array.from({ length: 2 * SESSIONS_PER_CALL + 500 }, (_, i) => open(1000 + i, 700 + i, i.toString(16).padStart(16, '0'), 'many'));
    const call = { nextSeq: () => calls.length + 1, evicted: () => assert.fail('one session per user'), sent: () => {} };
    assert.equal(await sessions.assert(true, () => many, call), true);
    assert.deepEqual(calls, [`${SESSIONS_PER_CALL} first`, `${SESSIONS_PER_CALL}`, '500 last']);
    assert.equal(await client.hlen(names.sessions(C.id)), many.length);
    assert.equal(await client.zlexcount(names.devices, '[many\u0000', '[many\u0000\u00ff'), many.length);
    // Whole again with fewer: the set holds exactly those.
    assert.equal(await sessions.assert(true, () => many.slice(0, 10), call), true);
    assert.equal(await client.zlexcount(names.devices, '[many\u0000', '[many\u0000\u00ff'), 10);
    assert.equal(await client.hlen(names.sessions(C.id)), 10);
  });

  test('nonsense in a user\'s range of the set (another program\'s data) is removed, never fatal, never passed on', async () => {
    const D = { id: 'eeeeeeeeeeeeeeee', incarnation: 44 };
    await client.hset(names.counts(D.id), INCARNATION_FIELD, String(D.incarnation));
    await client.zadd(names.devices, 0, `junk\u0000${USER}\u0000`, 0, `junk\u0000${USER}\u0000000000000000001\u0000not a session\u0000nor a node`);
    assert.deepEqual(await node(D, 1)([open(20, 900, USER, 'junk')]), []);
    assert.equal(await client.zlexcount(names.devices, '[junk\u0000', '[junk\u0000\u00ff'), 1);
  });
});
