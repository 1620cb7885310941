// The device limit's script on a real Redis (src/primary/cluster/redis-devices.ts), called as a node calls it
// (RedisSessions), on a prefix of its own: the rule of device-limit.ts (newest by entry time, ties by session
// id), ends that make room, a whole re-assertion replacing one node's members only, a node dropped taking its
// members along, a refusal once Redis lost the node's incarnation, and one numbering of state messages shared
// with ASSERT.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { ClusterSession } from '../src/primary/cluster/cluster.js';
import { ENDED } from '../src/primary/cluster/cluster.js';
import { defineSessionsScript } from '../src/primary/cluster/redis-devices.js';
import { redisNames } from '../src/primary/cluster/redis-keys.js';
import { encodeState } from '../src/primary/cluster/redis-messages.js';
import { CALL_FIELD, defineScripts, INCARNATION_FIELD, SEQ_FIELD } from '../src/primary/cluster/redis-scripts.js';
import { chunks, evictionsOf, RedisSessions, SESSIONS_PER_CALL, type Eviction } from '../src/primary/cluster/redis-sessions.js';
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

  /**
   * One node's calls, as RedisCluster makes them: changes in messages of their own, or (`whole`) its whole
   * sessions, the first chunk replacing, only the last publishing (that the whole state is in Redis); returns
   * the evictions.
   */
  function node(identity: typeof A, maxDevices: number, call: typeof script = script) {
    const sessions = new RedisSessions(identity, names, maxDevices, call);
    let calls = 0;
    return async (changes: ClusterSession[], whole = false): Promise<Eviction[] | 'refused'> => {
      const evicted: Eviction[] = [];
      // Numbered from what Redis holds (ASSERT's first chunk of a whole state sets it, in RedisCluster).
      let seq = Number((await client.hget(names.counts(identity.id), SEQ_FIELD)) ?? 0);
      sessions.queue(changes);
      const parts = whole ? chunks(changes) : sessions.take();
      for (const [k, part] of parts.entries()) {
        const publishes = !whole || k === parts.length - 1;
        const message = publishes ? encodeState({ node: identity.id, incarnation: identity.incarnation, seq: seq + 1, full: whole, counts: [], ...(whole ? { opened: [], ended: [] } : part) }) : '';
        const result = await sessions.send(part, whole && k === 0, message, seq + 1, `${identity.incarnation}:${++calls}`);
        if (result[0] === -1) return 'refused';
        assert.equal(result[0], 1, 'numbered as Redis expects');
        if (publishes) seq++;
        evicted.push(...evictionsOf(result));
      }
      return evicted;
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

  test('a whole re-assertion of many sessions goes in bounded calls, the first replacing, only the last publishing', async () => {
    const C = { id: 'cccccccccccccccc', incarnation: 33 };
    await client.hset(names.counts(C.id), INCARNATION_FIELD, String(C.incarnation));
    const calls: string[] = [];
    const counting: typeof script = (keys, args) => {
      calls.push(`${String(args[10])}${args[2] === 1 ? ' replace' : ''}${args[5] === '' ? '' : ' publish'}`);
      return script(keys, args);
    };
    const c = node(C, 1, counting);
    const many = Array.from({ length: 2 * SESSIONS_PER_CALL + 500 }, (_, i) => open(1000 + i, 700 + i, i.toString(16).padStart(16, '0'), 'many'));
    assert.deepEqual(await c(many, true), [], 'one session per user');
    assert.deepEqual(calls, [`${SESSIONS_PER_CALL} replace`, `${SESSIONS_PER_CALL}`, '500 publish']);
    assert.equal(await client.hlen(names.sessions(C.id)), many.length);
    assert.equal(await client.zlexcount(names.devices, '[many\u0000', '[many\u0000\u00ff'), many.length);
    // Whole again with fewer: the set holds exactly those.
    assert.deepEqual(await c(many.slice(0, 10), true), []);
    assert.equal(await client.zlexcount(names.devices, '[many\u0000', '[many\u0000\u00ff'), 10);
    assert.equal(await client.hlen(names.sessions(C.id)), 10);
  });

  test('one numbering with ASSERT: a message that does not follow the last one published is refused before any change', async () => {
    const F = { id: 'ffffffffffffffff', incarnation: 55 };
    const assertState = defineScripts(client).assertState;
    const counts = { node: F.id, incarnation: F.incarnation, full: false, counts: [['ev', 1, 1]] as [string, number, number][], opened: [], ended: [] };
    // ASSERT replaces (seq restarts from 0) and publishes message 1.
    assert.equal((await assertState([names.nodes, names.counts(F.id)], [F.id, F.incarnation, 1, 10_000, names.state, encodeState({ ...counts, seq: 1 }), 1, 1, 'ev', '1 1', 0, `${F.incarnation}:1`]))[0], 1);
    const sessions = new RedisSessions(F, names, 0, script);
    const part = { opened: [open(30, 1000)], ended: [] };
    // A sessions message numbered 1 again (a node that missed its call's answer) is refused with the stored seq.
    assert.deepEqual(await sessions.send(part, false, encodeState({ ...counts, seq: 1, counts: [], ...part }), 1, `${F.incarnation}:2`), [-2, 1]);
    assert.equal(await client.hlen(names.sessions(F.id)), 0);
    assert.equal(await client.hget(names.counts(F.id), CALL_FIELD), `${F.incarnation}:1`);
    // Numbered from what Redis holds: applied, the call's id kept, the seq moved on.
    assert.deepEqual(await sessions.send(part, false, encodeState({ ...counts, seq: 2, counts: [], ...part }), 2, `${F.incarnation}:3`), [1]);
    assert.equal(await client.hlen(names.sessions(F.id)), 1);
    assert.equal(await client.hget(names.counts(F.id), CALL_FIELD), `${F.incarnation}:3`);
    assert.equal(await client.hget(names.counts(F.id), SEQ_FIELD), '2');
  });

  test('nonsense in a user\'s range of the set (another program\'s data) is removed, never fatal, never passed on', async () => {
    const D = { id: 'eeeeeeeeeeeeeeee', incarnation: 44 };
    await client.hset(names.counts(D.id), INCARNATION_FIELD, String(D.incarnation));
    await client.zadd(names.devices, 0, `junk\u0000${USER}\u0000`, 0, `junk\u0000${USER}\u0000000000000000001\u0000not a session\u0000nor a node`);
    assert.deepEqual(await node(D, 1)([open(20, 900, USER, 'junk')]), []);
    assert.equal(await client.zlexcount(names.devices, '[junk\u0000', '[junk\u0000\u00ff'), 1);
  });
});
