// The in-memory history (admin chart without the attendance log): exact samples over the last hour, and a
// namespace's series gone with the namespace.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HISTORY_STEP_MS, HISTORY_WINDOW_MS, MemberHistory } from '../src/primary/member-history.js';

test('every sample of a namespace is given back, unchanged counts included, oldest first', () => {
  const history = new MemberHistory();
  const counts = [1, 1, 3, 3, 3, 2, 0, 5];
  counts.forEach((members, k) => history.sample([{ name: 'a', members }, { name: 'b', members: k }], k * HISTORY_STEP_MS));
  assert.deepEqual(history.samples('a', 0, Infinity), counts.map((members, k) => ({ at: k * HISTORY_STEP_MS, members })));
  assert.deepEqual(history.samples('b', 2 * HISTORY_STEP_MS, 3 * HISTORY_STEP_MS), [{ at: 2 * HISTORY_STEP_MS, members: 2 }, { at: 3 * HISTORY_STEP_MS, members: 3 }]);
});

test('a namespace starts at its first sample and is forgotten when a sample misses it', () => {
  const history = new MemberHistory();
  history.sample([{ name: 'a', members: 1 }], 0);
  history.sample([{ name: 'a', members: 1 }, { name: 'late', members: 4 }], HISTORY_STEP_MS);
  assert.deepEqual(history.samples('late', 0, Infinity), [{ at: HISTORY_STEP_MS, members: 4 }]);
  history.sample([{ name: 'late', members: 4 }], 2 * HISTORY_STEP_MS);
  assert.deepEqual(history.samples('a', 0, Infinity), []);
  history.sample([{ name: 'a', members: 7 }], 3 * HISTORY_STEP_MS);
  assert.deepEqual(history.samples('a', 0, Infinity), [{ at: 3 * HISTORY_STEP_MS, members: 7 }], 'a namespace back is a new series');
});

test('only the last hour is kept, its first value carried from an older change', () => {
  const history = new MemberHistory();
  const steps = 3 * (HISTORY_WINDOW_MS / HISTORY_STEP_MS);
  // Changes every 100 samples: the window's first samples take their value from a change before the window.
  for (let k = 0; k < steps; k++) history.sample([{ name: 'a', members: Math.floor(k / 100) }], k * HISTORY_STEP_MS);
  const kept = history.samples('a', 0, Infinity);
  assert.equal(kept.length, HISTORY_WINDOW_MS / HISTORY_STEP_MS + 1);
  kept.forEach((s, i) => {
    const k = steps - kept.length + i;
    assert.deepEqual(s, { at: k * HISTORY_STEP_MS, members: Math.floor(k / 100) });
  });
});

test('a namespace sampled only empty has no series; its series starts at the first sample with a viewer', () => {
  const history = new MemberHistory();
  history.sample([{ name: 'flood', members: 0 }, { name: 'ev', members: 0 }], 0);
  history.sample([{ name: 'flood', members: 0 }, { name: 'ev', members: 2 }], HISTORY_STEP_MS);
  history.sample([{ name: 'flood', members: 0 }, { name: 'ev', members: 0 }], 2 * HISTORY_STEP_MS);
  assert.deepEqual(history.samples('flood', 0, Infinity), []);
  assert.deepEqual(history.samples('ev', 0, Infinity), [{ at: HISTORY_STEP_MS, members: 2 }, { at: 2 * HISTORY_STEP_MS, members: 0 }], 'zeros after a viewer are kept');
});
