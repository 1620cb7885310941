// The primary's session registry: device-limit decisions (within a node and across nodes), distinct users, and
// a dead worker's sessions dropped; anonymous sessions never kept.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SessionRegistry } from '../src/primary/session-registry.js';
import type { SessionEntry } from '../src/protocol/sessions.js';
import { ENDED } from '../src/primary/cluster/cluster.js';
import { userKeys } from '../src/primary/cluster/user-keys.js';

function entry(session: string, at: number, user: string | null, ns = 'ev'): SessionEntry {
  return { session, connection: `c-${session}`, ns, user, name: null, at, page: null, browser: null, os: null, device: null, ip: null, transport: 'sse' };
}

test('beyond --max-devices the oldest session by entry time is expelled, even when reports arrive out of order', () => {
  const registry = new SessionRegistry(2);
  assert.deepEqual(registry.apply(1, [entry('b', 200, 'u')], []), []);
  assert.deepEqual(registry.apply(2, [entry('c', 300, 'u')], []), []);
  // Worker 3's report comes last but its session entered first: it is the oldest.
  assert.deepEqual(registry.apply(3, [entry('a', 100, 'u')], []), ['a']);
  assert.deepEqual(registry.apply(1, [entry('d', 400, 'u')], []), ['b']);
  // Already expelled sessions are not expelled twice; an exit in the same report as an entry is taken first.
  assert.deepEqual(registry.apply(2, [entry('e', 500, 'u')], [{ session: 'a', at: 510, reason: 'expelled' }]), ['c']);
  assert.equal(registry.users('ev'), 1);
});

test('no limit with 0; anonymous sessions never count; users are distinct per namespace', () => {
  const registry = new SessionRegistry(0);
  const expel = registry.apply(1, [entry('a', 1, 'u'), entry('b', 2, 'u'), entry('c', 3, 'v'), entry('d', 4, null), entry('e', 5, 'u', 'other')], []);
  assert.deepEqual(expel, []);
  assert.equal(registry.users('ev'), 2);
  assert.equal(registry.users('other'), 1);
  registry.apply(1, [], [{ session: 'a', at: 9, reason: 'left' }]);
  assert.equal(registry.users('ev'), 2);
  registry.apply(1, [], [{ session: 'b', at: 9, reason: 'left' }]);
  assert.equal(registry.users('ev'), 1);
});

test('only identified sessions are kept; a dead worker\'s are dropped, the others stay', () => {
  const registry = new SessionRegistry(1);
  registry.apply(1, [entry('a', 1, 'u'), entry('b', 2, null)], [{ session: 'b', at: 3, reason: 'left' }]);
  registry.apply(2, [entry('c', 4, null, 'x'), entry('d', 5, 'w', 'x')], []);
  assert.equal(registry.size, 2, 'anonymous sessions cost nothing here');
  registry.dropWorker(1);
  assert.equal(registry.users('ev'), 0);
  assert.equal(registry.users('x'), 1);
  assert.equal(registry.size, 1);
  assert.deepEqual(registry.takeChanges().map(({ session, at }) => [session, at]), [['d', 5]], "a's entry and end cancel out; d is news");
});

// Across nodes: each registry below stands for one node's primary; what one node's takeChanges() returns is
// what its datagrams carry to the others.
const KEYS = userKeys('cluster secret');

function node(maxDevices: number): SessionRegistry {
  return new SessionRegistry(maxDevices, KEYS);
}

test('a new device on node B expels the oldest session on node A: A decides it, B only agrees', () => {
  const a = node(1);
  const b = node(1);
  assert.deepEqual(a.apply(1, [entry('a1', 100, 'u')], []), []);
  assert.deepEqual(b.applyPeer('node:A', a.takeChanges(), []), []);
  assert.deepEqual(b.apply(1, [entry('b1', 200, 'u')], []), [], 'a1 is beyond the limit, but it is A\'s to expel');
  assert.deepEqual(a.applyPeer('node:B', b.takeChanges(), []), ['a1']);
  // Advertised again (every round), nothing new is decided.
  assert.deepEqual(a.applyPeer('node:B', [...b.advertised()], []), []);
  assert.equal(a.users('ev'), 1);
  assert.equal(b.users('ev'), 1);
  // A's expelled session exits: B hears it ended.
  a.apply(1, [], [{ session: 'a1', at: 300, reason: 'expelled' }]);
  const ended = a.takeChanges();
  assert.deepEqual(ended.map(({ session, at }) => [session, at]), [['a1', ENDED]]);
  b.applyPeer('node:A', [], ended.map((change) => change.session));
  assert.equal(b.size, 1);
});

test('every node takes the same decision whatever order it learns the sessions in; ties go by session id', () => {
  const holders = ['A', 'B', 'C'];
  // Seven sessions of one user on three nodes, the newest two on the same millisecond; the limit keeps one.
  const all = [['s1', 100], ['s2', 300], ['s3', 200], ['s4', 400], ['s6', 500], ['s5', 500], ['s7', 50]] as const;
  for (let round = 0; round < 20; round++) {
    const registries = holders.map(() => node(1));
    const expelled: string[] = [];
    registries.forEach((registry, i) => {
      const order = [...all.keys()].sort(() => Math.random() - 0.5);
      for (const index of order) {
        const [session, at] = all[index]!;
        const holder = index % holders.length;
        if (holder === i) expelled.push(...registry.apply(1, [entry(session, at, 'u')], []));
        else expelled.push(...registry.applyPeer(`node:${holders[holder]}`, [{ ns: 'ev', user: KEYS('ev', 'u'), session, at }], []));
      }
    });
    assert.deepEqual(expelled.sort(), ['s1', 's2', 's3', 's4', 's5', 's7'], 'all but s6 (which wins the tie by its id), each once, by its own node');
  }
});

test('users counts a user watching on two nodes once; a departed peer\'s sessions no longer count', () => {
  const a = node(0);
  const b = node(0);
  a.apply(1, [entry('a1', 1, 'u'), entry('a2', 2, 'v'), entry('a3', 3, null)], []);
  b.apply(1, [entry('b1', 4, 'u'), entry('b2', 5, 'w')], []);
  a.applyPeer('node:B', b.takeChanges(), []);
  b.applyPeer('node:A', a.takeChanges(), []);
  assert.equal(a.users('ev'), 3);
  assert.equal(b.users('ev'), 3);
  a.dropPeer('node:B');
  assert.equal(a.users('ev'), 2);
  assert.equal(a.size, 2, 'its own identified sessions; the anonymous one is not kept');
});

test('what a node advertises: its own identified sessions; one that opened and ended between two calls is never told', () => {
  const registry = node(0);
  registry.applyPeer('node:B', [{ ns: 'ev', user: KEYS('ev', 'x'), session: 'r1', at: 1 }], []);
  registry.apply(1, [entry('a1', 10, 'u'), entry('a2', 20, null), entry('a3', 30, 'u')], [{ session: 'a3', at: 31, reason: 'left' }]);
  const changes = registry.takeChanges();
  assert.deepEqual(changes, [{ ns: 'ev', user: KEYS('ev', 'u'), session: 'a1', at: 10 }]);
  assert.notEqual(changes[0]!.user, 'u', 'the user id itself is not sent');
  assert.deepEqual([...registry.advertised()], changes);
  assert.deepEqual(registry.takeChanges(), []);
  // A peer cannot end, nor take over, another holder's session.
  registry.applyPeer('node:C', [{ ns: 'ev', user: KEYS('ev', 'x'), session: 'a1', at: 5 }], ['a1', 'r1']);
  assert.equal(registry.users('ev'), 2);
  assert.deepEqual([...registry.advertised()].map((s) => s.at), [10]);
});

test('when the cluster decides the limit (Redis), the registry expels nothing itself, still counts users, and expels what it is told once', () => {
  let clusterDecides = true;
  const registry = new SessionRegistry(1, KEYS, () => !clusterDecides);
  assert.deepEqual(registry.apply(1, [entry('a1', 100, 'u'), entry('a2', 200, 'u')], []), []);
  assert.deepEqual(registry.applyPeer('node:B', [{ ns: 'ev', user: KEYS('ev', 'u'), session: 'b1', at: 300 }], []), []);
  assert.equal(registry.users('ev'), 1);
  // Only this node's open sessions, each once: b1 is B's, 'gone' is not open.
  assert.deepEqual(registry.expelDecided(['a1', 'b1', 'gone', 'a1']), ['a1']);
  assert.deepEqual(registry.expelDecided(['a1', 'a2']), ['a2']);
  // The cluster away (Redis unreachable): the node applies the rule itself again.
  clusterDecides = false;
  assert.deepEqual(registry.apply(1, [entry('a3', 400, 'u')], []), []);
  assert.deepEqual(registry.applyPeer('node:B', [{ ns: 'ev', user: KEYS('ev', 'u'), session: 'b2', at: 500 }], []), ['a3']);
});
