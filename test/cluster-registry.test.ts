// The peer registry on its own: which datagrams count (incarnation, sequence, departed nodes), expiry of
// peers and of their namespaces, caps, and the cross-node order of uuid exclusions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Datagram, NodeCount } from '../src/protocol/datagram.js';
import { PLAIN_REQUEST_WORKER, type Exclusion } from '../src/protocol/ipc.js';
import { DropCounter } from '../src/primary/peers/drop-counter.js';
import { PeerRegistry, peerSource, type RegistryLimits } from '../src/primary/peers/peer-registry.js';
import type { PeerSink } from '../src/primary/peers/peers.js';

const SELF = { id: '5555555555555555', incarnation: 1000 };
const PEER = '7777777777777777';
const LIMITS: RegistryLimits = { nodeTimeoutMs: 5000, maxPeers: 3, maxNamespacesPerPeer: 4, departedMemoryMs: 60_000 };

type Event = ['counts', string, NodeCount[]] | ['gone', string] | ['notification', string, string] | ['exclusions', Exclusion[]];

function setup(limits = LIMITS) {
  const events: Event[] = [];
  const sink: PeerSink = {
    counts: (peer, entries) => events.push(['counts', peer, [...entries]]),
    gone: (peer) => events.push(['gone', peer]),
    notification: (ns, data) => events.push(['notification', ns, data]),
    exclusions: (exclusions) => events.push(['exclusions', exclusions]),
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
  assert.deepEqual(info, { id: PEER, address: FROM, incarnation: 2000, lastSeen: 0.01, namespaces: 1, missed: 1 });
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
