// The peer registry on its own: which datagrams count (incarnation, sequence, departed nodes), expiry of
// peers and of their namespaces and sessions, caps, the cross-node order of uuid exclusions, and expulsions
// passed on once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Datagram, NodeCount } from '../src/protocol/datagram.js';
import { PLAIN_REQUEST_WORKER, type Exclusion } from '../src/protocol/ipc.js';
import { DropCounter } from '../src/primary/cluster/drop-counter.js';
import { PeerRegistry, peerSource, type RegistryLimits } from '../src/primary/cluster/peer-registry.js';
import type { ClusterSink } from '../src/primary/cluster/cluster.js';
import type { WireSession } from '../src/protocol/wire-sessions.js';

const SELF = { id: '5555555555555555', incarnation: 1000 };
const PEER = '7777777777777777';
const LIMITS: RegistryLimits = { nodeTimeoutMs: 5000, maxPeers: 3, maxNamespacesPerPeer: 4, maxSessionsPerPeer: 3, departedMemoryMs: 60_000 };

type Event = ['counts', string, NodeCount[]] | ['gone', string] | ['notification', string, string] | ['exclusions', Exclusion[]]
  | ['sessions', string, WireSession[], string[]] | ['expelled', string[]];

function setup(limits = LIMITS) {
  const events: Event[] = [];
  const sink: ClusterSink = {
    counts: (peer, entries) => events.push(['counts', peer, [...entries]]),
    gone: (peer) => events.push(['gone', peer]),
    notification: (ns, data) => events.push(['notification', ns, data]),
    exclusions: (exclusions) => events.push(['exclusions', exclusions]),
    sessions: (peer, open, ended) => events.push(['sessions', peer, [...open], [...ended]]),
    expelled: (sessions) => events.push(['expelled', [...sessions]]),
    expel: () => assert.fail('multicast never decides the device limit for a node'),
  };
  const drops = new DropCounter();
  const registry = new PeerRegistry(SELF, limits, sink, drops);
  const take = (): Event[] => events.splice(0);
  return { registry, drops, take };
}

function counts(seq: number, entries: NodeCount[], { node = PEER, incarnation = 2000 } = {}): Datagram {
  return { header: { node, incarnation, seq }, kind: 'counts', entries };
}

function goodbye(seq: number, { node = PEER, incarnation = 2000 } = {}): Datagram {
  return { header: { node, incarnation, seq }, kind: 'goodbye' };
}

const FROM = '10.0.0.2:314';
const SOURCE = peerSource(PEER);

test('new datagrams are passed on; replayed and older sequence numbers are dropped', () => {
  const { registry, drops, take } = setup();
  registry.receive(counts(1, [['a', 2, 5]]), FROM, 0);
  registry.receive(counts(3, [['a', 3, 6]]), FROM, 10);
  registry.receive(counts(3, [['a', 9, 9]]), FROM, 20);
  registry.receive(counts(2, [['a', 9, 9]]), FROM, 30);
  assert.deepEqual(take(), [['counts', SOURCE, [['a', 2, 5]]], ['counts', SOURCE, [['a', 3, 6]]]]);
  assert.deepEqual(drops.snapshot(), { 'old or replayed sequence': 2 });
  const [info] = registry.describe();
  assert.deepEqual(info, { id: PEER, address: FROM, incarnation: 2000, lastSeen: 0.01, namespaces: 1, missed: 1, admin: null });
});

test('a newer incarnation replaces the old one\'s data; an older one is ignored', () => {
  const { registry, drops, take } = setup();
  registry.receive(counts(50, [['a', 2, 5]]), FROM, 0);
  registry.receive(counts(1, [['b', 1, 1]], { incarnation: 3000 }), FROM, 10);
  registry.receive(counts(99, [['a', 2, 5]], { incarnation: 2000 }), FROM, 20);
  assert.deepEqual(take(), [['counts', SOURCE, [['a', 2, 5]]], ['gone', SOURCE], ['counts', SOURCE, [['b', 1, 1]]]]);
  assert.deepEqual(drops.snapshot(), { 'old incarnation': 1 });
  assert.equal(registry.describe()[0]!.namespaces, 1);
});

test('a silent peer is dropped after the timeout; a namespace it stops advertising is zeroed', () => {
  const { registry, take } = setup();
  registry.receive(counts(1, [['a', 2, 5], ['b', 1, 1]]), FROM, 0);
  registry.receive(counts(2, [['a', 2, 6]]), FROM, 4000);
  take();
  registry.expire(5000);
  assert.deepEqual(take(), [], 'nothing is older than the timeout yet');
  registry.expire(5001);
  assert.deepEqual(take(), [['counts', SOURCE, [['b', 0, 0]]]]);
  registry.expire(9001);
  assert.deepEqual(take(), [['gone', SOURCE]]);
  assert.deepEqual(registry.describe(), []);
});

test('a goodbye drops the peer at once, and its earlier datagrams cannot bring it back', () => {
  const { registry, drops, take } = setup();
  registry.receive(counts(1, [['a', 2, 5]]), FROM, 0);
  registry.receive(goodbye(3), FROM, 10);
  registry.receive(counts(2, [['a', 2, 5]]), FROM, 20);
  registry.receive(counts(3, [['a', 2, 5]]), FROM, 20);
  assert.deepEqual(take(), [['counts', SOURCE, [['a', 2, 5]]], ['gone', SOURCE]]);
  assert.deepEqual(drops.snapshot(), { 'replay from a departed node': 2 });
  registry.receive(counts(1, [['a', 1, 1]], { incarnation: 4000 }), FROM, 30);
  assert.deepEqual(take(), [['counts', SOURCE, [['a', 1, 1]]]], 'a restart (newer incarnation) is welcome');
});

test('a peer silent past the timeout is welcome back when it speaks again', () => {
  const { registry, take } = setup();
  registry.receive(counts(1, [['a', 2, 5]]), FROM, 0);
  registry.expire(6000);
  registry.receive(counts(2, [['a', 2, 5]]), FROM, 7000);
  assert.deepEqual(take(), [['counts', SOURCE, [['a', 2, 5]]], ['gone', SOURCE], ['counts', SOURCE, [['a', 2, 5]]]]);
});

test('our own datagrams are skipped; our id with another incarnation is dropped and counted', () => {
  const { registry, drops, take } = setup();
  registry.receive(counts(1, [['a', 2, 5]], { node: SELF.id, incarnation: SELF.incarnation }), FROM, 0);
  registry.receive(counts(1, [['a', 2, 5]], { node: SELF.id, incarnation: 42 }), FROM, 0);
  assert.deepEqual(take(), []);
  assert.deepEqual(drops.snapshot(), { 'own node id': 1 });
});

test('peers and namespaces per peer are capped', () => {
  const { registry, drops, take } = setup();
  for (const node of ['1111111111111111', '2222222222222222', '3333333333333333', '4444444444444444']) {
    registry.receive(counts(1, [], { node }), FROM, 0);
  }
  assert.equal(registry.describe().length, 3);
  assert.deepEqual(drops.snapshot(), { 'too many peers': 1 });
  take();
  const six: NodeCount[] = ['a', 'b', 'c', 'd', 'e', 'f'].map((ns) => [ns, 1, 1]);
  registry.receive(counts(2, six, { node: '1111111111111111' }), FROM, 0);
  const [[, , passed]] = take() as [['counts', string, NodeCount[]]];
  assert.deepEqual(passed.map(([ns]) => ns), ['a', 'b', 'c', 'd']);
  // A namespace already tracked is still updated, and one that empties frees its place.
  registry.receive(counts(3, [['a', 0, 0], ['b', 5, 5], ['e', 1, 1]], { node: '1111111111111111' }), FROM, 0);
  assert.deepEqual(take(), [['counts', peerSource('1111111111111111'), [['a', 0, 0], ['b', 5, 5], ['e', 1, 1]]]]);
});

test('notifications pass; exclusions are put in this node\'s order (ties go to the larger node id)', () => {
  const { registry, take } = setup();
  const larger = '9999999999999999';
  const smaller = '0000000000000001';
  registry.receive({ header: { node: larger, incarnation: 1, seq: 1 }, kind: 'notification', ns: 'ev', data: 'chat=hi' }, FROM, 0);
  registry.receive({ header: { node: larger, incarnation: 1, seq: 2 }, kind: 'exclusions', exclusions: [{ uuid: 'u', at: 7, plain: false }] }, FROM, 0);
  registry.receive({ header: { node: smaller, incarnation: 1, seq: 1 }, kind: 'exclusions', exclusions: [{ uuid: 'u', at: 7, plain: false }, { uuid: 'v', at: 8, plain: true }] }, FROM, 0);
  assert.deepEqual(take(), [
    ['notification', 'ev', 'chat=hi'],
    ['exclusions', [{ uuid: 'u', at: 7, worker: PLAIN_REQUEST_WORKER }]],
    ['exclusions', [{ uuid: 'u', at: 7, worker: 0 }, { uuid: 'v', at: 8, worker: PLAIN_REQUEST_WORKER }]],
  ]);
});

test('a peer\'s admin port is reached on the address its datagrams come from; 0 means it has none', () => {
  const { registry, take } = setup();
  const admin = (seq: number, port: number): Datagram => ({ header: { node: PEER, incarnation: 2000, seq }, kind: 'admin', port });
  registry.receive(counts(1, []), FROM, 0);
  assert.equal(registry.describe()[0]!.admin, null, 'not told yet');
  registry.receive(admin(2, 2442), FROM, 10);
  assert.equal(registry.describe()[0]!.admin, '10.0.0.2:2442');
  // As multicast.ts names an IPv6 sender: address and port joined by a colon, no brackets.
  registry.receive(admin(3, 2443), 'fd00::2:314', 20);
  assert.equal(registry.describe()[0]!.admin, '[fd00::2]:2443', 'IPv6 in brackets');
  registry.receive(admin(4, 0), FROM, 30);
  assert.equal(registry.describe()[0]!.admin, null);
  assert.deepEqual(take(), [], 'nothing for the audience table');
});

function wire(session: string, at: number, ns = 'ev', user = '0123456789abcdef'): WireSession {
  return { ns, user, session, at };
}

function sessions(seq: number, list: WireSession[], { node = PEER, incarnation = 2000 } = {}): Datagram {
  return { header: { node, incarnation, seq }, kind: 'sessions', sessions: list };
}

test('sessions: open and ended ones are passed apart, the latest word on an id winning, and a cap per peer', () => {
  const { registry, drops, take } = setup();
  registry.receive(sessions(1, [wire('s1', 10), wire('s2', 20), wire('s2', 0), wire('s3', 30), wire('s3', 0), wire('s3', 30)]), FROM, 0);
  assert.deepEqual(take(), [['sessions', SOURCE, [wire('s1', 10), wire('s3', 30)], ['s2']]]);
  // Two held, one more fits; advertised again, a known session still passes (it refreshes it).
  registry.receive(sessions(2, [wire('s1', 10), wire('s4', 40), wire('s5', 50)]), FROM, 0);
  assert.deepEqual(take(), [['sessions', SOURCE, [wire('s1', 10), wire('s4', 40)], []]]);
  assert.deepEqual(drops.snapshot(), { 'sessions over the cap': 1 });
  // An ended session frees its place.
  registry.receive(sessions(3, [wire('s4', 0), wire('s5', 50)]), FROM, 0);
  assert.deepEqual(take(), [['sessions', SOURCE, [wire('s5', 50)], ['s4']]]);
});

test('sessions not advertised again within the timeout end; a departed peer\'s sessions are forgotten with it', () => {
  const { registry, take } = setup();
  registry.receive(sessions(1, [wire('s1', 10), wire('s2', 20)]), FROM, 0);
  registry.receive(sessions(2, [wire('s1', 10)]), FROM, 4000);
  registry.receive(counts(3, []), FROM, 4000);
  take();
  registry.expire(5001);
  assert.deepEqual(take(), [['sessions', SOURCE, [], ['s2']]]);
  registry.receive(goodbye(4), FROM, 5002);
  registry.expire(20_000);
  assert.deepEqual(take(), [['gone', SOURCE]], 'nothing of the departed peer expires later');
  // A restart (newer incarnation) forgets the old sessions too: they do not expire under the new one.
  registry.receive(sessions(1, [wire('s7', 70)], { incarnation: 3000 }), FROM, 30_000);
  registry.receive(sessions(1, [wire('s8', 80)], { incarnation: 4000 }), FROM, 30_000);
  take();
  registry.receive(counts(2, [], { incarnation: 4000 }), FROM, 34_000);
  registry.expire(35_001);
  assert.deepEqual(take(), [['sessions', SOURCE, [], ['s8']]]);
});

test('expulsions from any peer are passed on once, however often they are repeated', () => {
  const { registry, take } = setup();
  registry.receive({ header: { node: PEER, incarnation: 2000, seq: 1 }, kind: 'expelled', sessions: ['x', 'y'] }, FROM, 0);
  registry.receive({ header: { node: PEER, incarnation: 2000, seq: 2 }, kind: 'expelled', sessions: ['y', 'z'] }, FROM, 1000);
  registry.receive({ header: { node: '1111111111111111', incarnation: 1, seq: 1 }, kind: 'expelled', sessions: ['x'] }, FROM, 2000);
  assert.deepEqual(take(), [['expelled', ['x', 'y']], ['expelled', ['z']]]);
});
