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

test('adds, deletes and shrinks in any order find every namespace as a Map would (its index deletes in place)', () => {
  const rows = new NamespaceRows(1);
  const expected = new Map<string, number>();
  let shrunk = false;
  let seed = 7;
  const random = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  for (let step = 0; step < 200_000; step++) {
    // Growing phases (a third of the steps delete), then phases of deletes only, which let the arrays shrink.
    const ns = `n${random(6000)}`;
    if (step % 50_000 >= 30_000 || random(3) === 0 || expected.has(ns)) {
      rows.delete(ns);
      expected.delete(ns);
    } else {
      rows.set(rows.add(ns), 0, step);
      expected.set(ns, step);
    }
    if (step % 1000 === 0) {
      rows.shrinkIfSparse();
      if (expected.size === 0) shrunk = rows.add('probe') === 0;
      rows.delete('probe');
    }
  }
  assert.ok(shrunk, 'the rows were given back at least once');
  assert.equal(rows.size, expected.size);
  for (let k = 0; k < 6000; k++) {
    const row = rows.row(`n${k}`);
    assert.equal(row === undefined ? undefined : rows.get(row, 0), expected.get(`n${k}`), `n${k}`);
  }
  assert.deepEqual(new Set(rows.keys()), new Set(expected.keys()));
});

test('rows do not move while a pass over them is open', () => {
  const rows = new NamespaceRows(1);
  for (let k = 0; k < 5000; k++) rows.add(`f${k}`);
  rows.add('last');
  const pass = rows.entries();
  assert.deepEqual(pass.next().value, ['f0', 0]);
  for (let k = 0; k < 5000; k++) rows.delete(`f${k}`);
  rows.shrinkIfSparse();
  assert.deepEqual([...pass], [['last', 5000]], 'the open pass still finds the row where it was');
  rows.shrinkIfSparse();
  assert.deepEqual([...rows.entries()], [['last', 0]], 'moved once the pass was over');
});
