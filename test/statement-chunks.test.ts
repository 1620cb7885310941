// The attendance log's writes go out in statements of a few fixed sizes, so the stores prepare a bounded set of
// statements whatever the batch sizes (the primary's memory ratchet under churn, BENCHMARKS.md issue 12).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ROWS_PER_STATEMENT } from '../src/attendance/sql-database.js';
import { statementChunks } from '../src/attendance/session-writes.js';

test('every row goes out once and in order, in statements no larger than ROWS_PER_STATEMENT', () => {
  for (const n of [0, 1, 2, 3, 255, 256, 257, 499, 500, 501, 1234, 5000]) {
    const rows = Array.from({ length: n }, (_, i) => i);
    const chunks = statementChunks(rows);
    assert.deepEqual(chunks.flat(), rows, `${n} rows`);
    for (const c of chunks) assert.ok(c.length > 0 && c.length <= ROWS_PER_STATEMENT);
  }
});

test('whatever the batch sizes, the statements take at most ten shapes', () => {
  const sizes = new Set<number>();
  for (let n = 0; n <= 2 * ROWS_PER_STATEMENT + 17; n++) for (const c of statementChunks(Array.from({ length: n }, () => 0))) sizes.add(c.length);
  assert.deepEqual([...sizes].sort((a, b) => a - b), [1, 2, 4, 8, 16, 32, 64, 128, 256, ROWS_PER_STATEMENT]);
});

test('a batch below ROWS_PER_STATEMENT takes one statement per bit of its size', () => {
  assert.deepEqual(statementChunks(Array.from({ length: 300 }, () => 0)).map((c) => c.length), [256, 32, 8, 4]);
  assert.deepEqual(statementChunks(Array.from({ length: 1003 }, () => 0)).map((c) => c.length), [500, 500, 2, 1]);
});
