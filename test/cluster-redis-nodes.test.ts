// How a node follows another node's state messages on Redis (redis-nodes.ts), without Redis: a message
// announcing a whole state asks for a read of it from Redis (never applied as such), messages that come in
// during the read wait and apply after it, and a newer whole state announced during the read asks for
// another read. The same paths run against the real Redis in cluster-redis-whole-state.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterSink, NodeCount } from '../src/primary/cluster/cluster.js';
import { DropCounter } from '../src/primary/cluster/drop-counter.js';
import type { StateMessage } from '../src/primary/cluster/redis-messages.js';
import { RedisNodes } from '../src/primary/cluster/redis-nodes.js';

const OTHER = 'b0b0b0b0b0b0b0b0';

function nodes(): { others: RedisNodes; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const sink: ClusterSink = {
    counts: (_node, entries: readonly NodeCount[]) => entries.forEach(([ns, members]) => (members === 0 ? counts.delete(ns) : counts.set(ns, members))),
    gone: () => counts.clear(),
    notification() {},
    exclusions() {},
    sessions() {},
    expelled() {},
    expel() {},
  };
  const others = new RedisNodes({ id: 'a0a0a0a0a0a0a0a0', incarnation: 1 }, { maxNodes: 10, maxNamespacesPerNode: 10, maxSessionsPerNode: 10 }, sink, new DropCounter());
  return { others, counts };
}

const message = (seq: number, more: Partial<StateMessage> = {}): StateMessage => ({ node: OTHER, incarnation: 7, seq, full: false, counts: [], opened: [], ended: [], ...more });

test('a whole state announced is read from Redis; what came in meanwhile applies after it; a newer announcement asks for another read', () => {
  const { others, counts } = nodes();
  assert.equal(others.receive(message(3, { full: true }), 0), OTHER, 'an announcement asks for a read');
  assert.equal(counts.size, 0, 'it carries nothing to apply');
  assert.equal(others.receive(message(4, { counts: [['live', 5, 5]] }), 1), undefined, 'waits for the read');
  assert.equal(others.replace(OTHER, { incarnation: 7, seq: 3, counts: [['live', 2, 2], ['old', 1, 1]], sessions: [] }, 2), undefined);
  assert.deepEqual([...counts], [['live', 5], ['old', 1]], 'the state read, then the change that followed it');

  assert.equal(others.receive(message(4, { full: true }), 3), undefined, 'an announcement older than what is held is ignored');
  assert.equal(others.receive(message(5, { full: true }), 3), OTHER);
  assert.equal(others.receive(message(7, { full: true }), 4), undefined, 'waits for the read under way');
  assert.equal(others.replace(OTHER, { incarnation: 7, seq: 5, counts: [['live', 6, 6]], sessions: [] }, 5), OTHER, 'a newer whole state came in: read again');
  assert.equal(others.replace(OTHER, { incarnation: 7, seq: 7, counts: [['live', 8, 8]], sessions: [] }, 6), undefined);
  assert.deepEqual([...counts], [['live', 8]], 'only the newest whole state is held');
  assert.equal(others.receive(message(8, { counts: [['live', 9, 9]] }), 7), undefined, 'and changes follow it');
  assert.equal(counts.get('live'), 9);
});
