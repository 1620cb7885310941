// Which namespaces get series of their own in /metrics (--metrics-namespaces), read from the table's views.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AudienceTable } from '../src/primary/audience-table.js';
import { busiestNamespaces } from '../src/primary/busiest-namespaces.js';

test('the busiest namespaces of this node, most viewers first, then most joins, then by name; copies kept after the visit', () => {
  const table = new AudienceTable();
  const held: [ns: string, members: number, joins: number][] = [['d', 2, 2], ['a', 5, 5], ['c', 2, 9], ['b', 2, 2], ['idle', 0, 0], ['e', 0, 3], ['f', 9, 9]];
  for (const [ns, members, joins] of held) {
    table.setMembers('worker:1', ns, members, 0);
    table.addConnections(ns, joins, 0);
  }
  // Only a peer's viewers: nothing of this node's, no series.
  table.setPeerCounts('node:b', 'remote', 50, 50, 0);
  const all = [['f', 9, 9], ['a', 5, 5], ['c', 2, 9], ['b', 2, 2], ['d', 2, 2], ['e', 0, 3]];
  const rows = (limit: number) => busiestNamespaces(table.namespaces, limit).map((r) => [r.name, r.localMembers, r.localConnections]);
  assert.deepEqual(rows(100), all);
  for (let limit = 1; limit <= 6; limit++) assert.deepEqual(rows(limit), all.slice(0, limit), `limit ${limit}`);
  assert.deepEqual(rows(0), []);
});
