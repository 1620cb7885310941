// A worker's reports to the primary: at most one on its way, what changes meanwhile gathers and goes in the next
// report, and the last report at a stop goes after the one on its way (the churn ratchet, BENCHMARKS.md issue 12).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReportChannel } from '../src/worker/report-channel.js';

/** A channel over a list of pending changes, whose sends complete only when the test says so. */
function harness() {
  let pending: number[] = [];
  const sent: number[][] = [];
  const unfinished: Array<() => void> = [];
  const channel = new ReportChannel<number[]>(
    () => {
      if (pending.length === 0) return undefined;
      const taken = pending;
      pending = [];
      return taken;
    },
    (message, done) => {
      sent.push(message);
      unfinished.push(done);
    },
  );
  return {
    channel,
    sent,
    change: (...xs: number[]) => pending.push(...xs),
    /** The channel writes the oldest report still on its way. */
    written: () => unfinished.shift()!(),
    unfinished: () => unfinished.length,
  };
}

test('while a report is on its way, ticks send nothing and changes gather for the next one', () => {
  const h = harness();
  h.change(1);
  h.channel.tick();
  assert.deepEqual(h.sent, [[1]]);
  assert.equal(h.channel.busy, true);
  h.change(2);
  h.channel.tick();
  h.change(3);
  h.channel.tick();
  assert.deepEqual(h.sent, [[1]], 'nothing more while the first is on its way');
  h.written();
  assert.equal(h.channel.busy, false);
  h.channel.tick();
  assert.deepEqual(h.sent, [[1], [2, 3]], 'one report with both ticks');
  assert.equal(h.unfinished(), 1);
});

test('a tick with nothing changed sends nothing', () => {
  const h = harness();
  h.channel.tick();
  assert.deepEqual(h.sent, []);
  assert.equal(h.channel.busy, false);
});

test('the last report goes after the one on its way, with everything gathered, and says when it is handed over', () => {
  const h = harness();
  h.change(1);
  h.channel.tick();
  h.change(2);
  let done = 0;
  h.channel.last(() => done++);
  assert.deepEqual(h.sent, [[1]]);
  h.change(3);
  h.written();
  assert.deepEqual(h.sent, [[1], [2, 3]]);
  assert.equal(done, 0, 'not before the last report is handed over');
  h.written();
  assert.equal(done, 1);
});

test('the last report with nothing to send is done at once, or once the one on its way is handed over', () => {
  const h = harness();
  let done = 0;
  h.channel.last(() => done++);
  assert.equal(done, 1);
  h.change(1);
  h.channel.tick();
  h.channel.last(() => done++);
  assert.equal(done, 1);
  h.written();
  assert.equal(done, 2);
  assert.deepEqual(h.sent, [[1]]);
});
