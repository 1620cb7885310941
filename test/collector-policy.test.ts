// The primary's collector policy: full collections once the primary has been idle for IDLE_INTERVALS
// readings in a row, young-generation ones again at the first busy reading or as soon as work comes; V8's switch
// is only touched when the kind changes. And V8's own switch, --gc-global, is one this Node accepts and acts on.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { CollectorPolicy, IDLE_INTERVALS, IDLE_UTILIZATION } from '../src/primary/collector-policy.js';

function policyFed(readings: number[]): { switches: boolean[]; states: boolean[] } {
  const switches: boolean[] = [];
  const states: boolean[] = [];
  let next = 0;
  const policy = new CollectorPolicy({ utilization: () => readings[next++]!, collectFully: (full) => switches.push(full) });
  for (let i = 0; i < readings.length; i++) {
    policy.check();
    states.push(policy.collectsFully);
  }
  return { switches, states };
}

test('idle readings in a row make collections full; the first busy one makes them young again', () => {
  const idle = IDLE_UTILIZATION / 2;
  const busy = 0.5;
  const readings = [busy, ...Array<number>(IDLE_INTERVALS + 2).fill(idle), busy, idle, busy];
  const { switches, states } = policyFed(readings);
  const expected = readings.map((_, i) => i >= IDLE_INTERVALS && i <= IDLE_INTERVALS + 2);
  assert.deepEqual(states, expected);
  assert.deepEqual(switches, [true, false], 'V8 told once per change, not at every reading');
});

test('work that comes makes collections young at once, and idle readings count again from zero', () => {
  const switches: boolean[] = [];
  const readings = Array<number>(IDLE_INTERVALS * 3).fill(0);
  let next = 0;
  const policy = new CollectorPolicy({ utilization: () => readings[next++]!, collectFully: (full) => switches.push(full) });
  for (let i = 0; i < IDLE_INTERVALS; i++) policy.check();
  assert.equal(policy.collectsFully, true);
  policy.busy();
  assert.equal(policy.collectsFully, false, 'young before the next reading');
  policy.busy();
  for (let i = 0; i < IDLE_INTERVALS - 1; i++) policy.check();
  assert.equal(policy.collectsFully, false, 'the idle count restarted');
  policy.check();
  assert.equal(policy.collectsFully, true);
  assert.deepEqual(switches, [true, false, true]);
});

test('a primary busy at every reading never switches', () => {
  const { switches } = policyFed(Array<number>(20).fill(IDLE_UTILIZATION));
  assert.deepEqual(switches, [], 'the threshold itself is busy');
});

test('V8 takes --gc-global at run time: collections after it are full ones', () => {
  // A child process, so this test's own V8 keeps its flags. Allocations that fill the young generation
  // start collections; with the flag set they are major (kind 1 in perf_hooks' gc entries is minor, 4 major).
  const script = `
    const { PerformanceObserver, constants } = require('node:perf_hooks');
    const { setFlagsFromString } = require('node:v8');
    let phase = 'before';
    const seen = [];
    const observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) seen.push([phase, e.detail.kind]); });
    observer.observe({ entryTypes: ['gc'] });
    let keep = [];
    const churn = () => { for (let i = 0; i < 2e5; i++) { keep.push({ i }); if (keep.length > 1000) keep = []; } };
    churn();
    setTimeout(() => {
      phase = 'after';
      setFlagsFromString('--gc-global');
      churn();
      setTimeout(() => {
        const of = (p) => [...new Set(seen.filter(([q]) => q === p).map(([, k]) => k))];
        console.log(JSON.stringify({ before: of('before'), after: of('after'), minor: constants.NODE_PERFORMANCE_GC_MINOR, major: constants.NODE_PERFORMANCE_GC_MAJOR }));
      }, 100);
    }, 100);
  `;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const { before, after, minor, major } = JSON.parse(run.stdout) as { before: number[]; after: number[]; minor: number; major: number };
  assert.ok(before.includes(minor), `young collections before the switch: ${JSON.stringify(before)}`);
  assert.ok(after.length > 0 && after.every((kind) => kind === major), `only full ones after it: ${JSON.stringify(after)}`);
});
