// The audience table's rows of numbers: a row per namespace, reused once freed, the array shrinking back
// once a flood of namespaces is gone, and every namespace keeping its numbers through a shrink.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NamespaceRows } from '../src/primary/namespace-rows.js';

test('a new row is all zeros, also when it reuses a freed one', () => {
  const rows = new NamespaceRows(3);
  const a = rows.add('a');
  rows.set(a, 0, 5);
  rows.addTo(a, 2, 7);
  assert.deepEqual([rows.get(a, 0), rows.get(a, 1), rows.get(a, 2)], [5, 0, 7]);
  rows.delete('a');
  assert.equal(rows.row('a'), undefined);
  const b = rows.add('b');
  assert.equal(b, a, 'the freed row is reused');
  assert.deepEqual([rows.get(b, 0), rows.get(b, 1), rows.get(b, 2)], [0, 0, 0]);
});

test('a flood grows the rows; once gone they shrink, and the namespaces left keep their numbers and order', () => {
  const rows = new NamespaceRows(2);
  const keep = ['k0', 'k1', 'k2'];
  for (const [i, ns] of keep.entries()) rows.set(rows.add(ns), 1, 100 + i);
  for (let k = 0; k < 100_000; k++) rows.set(rows.add(`f${k}`), 1, k);
  assert.equal(rows.size, 100_003);
  assert.equal(rows.get(rows.row('f99999')!, 1), 99_999);
  for (let k = 0; k < 100_000; k++) rows.delete(`f${k}`);
  // Shrinks a quarter at a time, each time most rows are free.
  for (let pass = 0; pass < 10; pass++) rows.shrinkIfSparse();
  assert.deepEqual([...rows.entries()], [['k0', 0], ['k1', 1], ['k2', 2]], 'moved to the first rows, in order');
  assert.deepEqual(keep.map((ns) => rows.get(rows.row(ns)!, 1)), [100, 101, 102]);
  assert.equal(rows.add('next'), 3, 'after a shrink, new rows follow the ones kept');
});
