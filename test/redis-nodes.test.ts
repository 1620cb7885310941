// The other nodes of a Redis cluster as one node follows them (src/primary/cluster/redis-nodes.ts), fed state
// messages as they arrive: whole counts leave the sessions alone (they come in messages of their own), and a
// node's whole sessions sent in several messages end only what is in none of them, at the last, so no session
// seems to end and come back while it is re-asserted.
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
  return { events, receive };
}

test('whole counts leave the sessions as known; whole sessions in three messages end only the missing ones, at the last', () => {
  const { events, receive } = setup();
  const [s1, s2, s3, s4] = [session(1), session(2), session(3), session(4)];
  assert.equal(receive({ full: true, counts: [['ev', 3, 3]] }), undefined);
  receive({ opened: [s1, s2, s3] });
  assert.deepEqual(events.splice(0), ['counts ev=3', 'sessions +3 -0']);
  // Back after an outage: whole counts, then the sessions whole in three parts; s2 ended meanwhile, s4 is new.
  receive({ full: true, counts: [['ev', 3, 4]] });
  receive({ opened: [s3], wholeSessions: { first: true, last: false } });
  receive({ opened: [s4], wholeSessions: { first: false, last: false } });
  assert.deepEqual(events.splice(0), ['counts ev=3', 'sessions +1 -0'], 'nothing ended before the last part');
  receive({ opened: [s1], wholeSessions: { first: false, last: true } });
  assert.deepEqual(events.splice(0), ['sessions +0 -1']);
  // Whole and empty, in one message: every session ended.
  receive({ wholeSessions: { first: true, last: true } });
  assert.deepEqual(events.splice(0), ['sessions +0 -3']);
});
