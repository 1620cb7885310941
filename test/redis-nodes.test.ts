// The other nodes of a Redis cluster as one node follows them (src/primary/cluster/redis-nodes.ts), fed state
// messages as they arrive: counts and sessions in messages of their own apply in order; a message that says
// a node's whole state is in Redis (counts and sessions, asserted in chunks) asks for a read, the messages
// that come meanwhile wait for it, and the read ends exactly the sessions missing from it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { ClusterSession, ClusterSink } from '../src/primary/cluster/cluster.js';
import { DropCounter } from '../src/primary/cluster/drop-counter.js';
import type { StateMessage } from '../src/primary/cluster/redis-messages.js';
import { RedisNodes } from '../src/primary/cluster/redis-nodes.js';

const PEER = '7777777777777777';
const session = (at: number): ClusterSession => ({ ns: 'ev', user: '0123456789abcdef', session: randomBytes(16).toString('base64url'), at });

function setup() {
  const events: string[] = [];
  const sink: ClusterSink = {
    counts: (node, entries) => events.push(`counts ${entries.map(([ns, m]) => `${ns}=${m}`).join(',')}`),
    gone: () => events.push('gone'),
    notification: () => {},
    exclusions: () => {},
    sessions: (node, open, ended) => events.push(`sessions +${open.length} -${ended.length}`),
    expelled: () => {},
    expel: () => {},
  };
  const nodes = new RedisNodes({ id: '5555555555555555', incarnation: 1 }, { maxNodes: 10, maxNamespacesPerNode: 10, maxSessionsPerNode: 100 }, sink, new DropCounter());
  let seq = 0;
  const receive = (m: Partial<StateMessage>): string | undefined =>
    nodes.receive({ node: PEER, incarnation: 9, seq: ++seq, full: false, counts: [], opened: [], ended: [], ...m }, Date.now());
  return { events, receive, nodes, seq: () => seq };
}

test('a whole state announced is read from Redis: sessions missing from it end, messages during the read apply after it', () => {
  const { events, receive, nodes, seq } = setup();
  const [s1, s2, s3, s4] = [session(1), session(2), session(3), session(4)];
  // Joining: the announcement carries nothing itself, it asks for a read.
  assert.equal(receive({ full: true }), PEER);
  nodes.replace(PEER, { incarnation: 9, seq: seq(), counts: [['ev', 3, 3]], sessions: [s1, s2, s3] }, Date.now());
  assert.deepEqual(events.splice(0), ['counts ev=3', 'sessions +3 -0']);
  // Counts and sessions in messages of their own (the two scripts share one numbering).
  assert.equal(receive({ counts: [['ev', 4, 4]] }), undefined);
  assert.equal(receive({ ended: [s3.session] }), undefined);
  assert.deepEqual(events.splice(0), ['counts ev=4', 'sessions +0 -1']);
  // Back after an outage: announced again; a message newer than the state read waits for the read.
  assert.equal(receive({ full: true }), PEER);
  const announced = seq();
  assert.equal(receive({ opened: [s4] }), undefined);
  assert.deepEqual(events.splice(0), [], 'nothing applied before the read');
  // s2 ended meanwhile: the read ends it, and only it; then the message that came during the read.
  nodes.replace(PEER, { incarnation: 9, seq: announced, counts: [['ev', 4, 4]], sessions: [s1] }, Date.now());
  assert.deepEqual(events.splice(0), ['counts ev=4', 'sessions +0 -1', 'sessions +1 -0']);
});
