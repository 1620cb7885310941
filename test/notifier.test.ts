// The 2.x push policy, with a fake clock: times are plain numbers passed in, no timers involved.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AudienceTable, type NamespaceRecord } from '../src/primary/audience-table.js';
import { collectPushes, shouldPush } from '../src/primary/notifier.js';

const policy = { deltaRatio: 0.1, maxDelay: 25_000 };

function record(members: number, lastPushed: number, modified: number): NamespaceRecord {
  return { name: 'ev', created: 0, connections: members, members, modified, lastPushed, emptySince: undefined };
}

test('a namespace never pushed is pushed at the first check', () => {
  assert.equal(shouldPush(record(1, 0, 0), 1_000, policy), true);
});

test('an empty namespace is never pushed', () => {
  assert.equal(shouldPush(record(0, 5, 0), 100_000, policy), false);
});

test('below the delta, no push until the max delay', () => {
  // last pushed 100: the change must reach floor(100 * 0.1) = 10.
  const r = record(109, 100, 10_000);
  assert.equal(shouldPush(r, 12_000, policy), false);
  assert.equal(shouldPush(r, 34_999, policy), false);
  assert.equal(shouldPush(r, 35_000, policy), true, 'max delay reached');
});

test('the delta is max(1, floor(last pushed × ratio)), both ways', () => {
  assert.equal(shouldPush(record(110, 100, 10_000), 12_000, policy), true);
  assert.equal(shouldPush(record(90, 100, 10_000), 12_000, policy), true);
  assert.equal(shouldPush(record(91, 100, 10_000), 12_000, policy), false);
  // Small audiences: floor(5 * 0.1) = 0, so any change of 1 pushes.
  assert.equal(shouldPush(record(6, 5, 10_000), 12_000, policy), true);
  assert.equal(shouldPush(record(5, 5, 10_000), 12_000, policy), false);
});

test('an unchanged count is pushed again after the max delay (a heartbeat, as in 2.x)', () => {
  assert.equal(shouldPush(record(50, 50, 10_000), 35_000, policy), true);
});

test('a ratio of 0 pushes every change', () => {
  assert.equal(shouldPush(record(1001, 1000, 10_000), 12_000, { deltaRatio: 0, maxDelay: 25_000 }), true);
});

test('collectPushes returns what to push; once the table records it, the next check leaves it', () => {
  const table = new AudienceTable();
  table.setMembers('worker:1', 'a', 100, 0);
  table.setMembers('worker:1', 'b', 100, 0);
  table.pushed([['a', 100], ['b', 100]], 10_000);
  table.setMembers('worker:1', 'a', 120, 11_000);
  table.setMembers('worker:1', 'b', 101, 11_000);
  const pushes = collectPushes(table.namespaces, 12_000, policy);
  assert.deepEqual(pushes, [['a', 120]]);
  table.pushed(pushes, 12_000);
  assert.equal(table.namespaces.get('a')!.lastPushed, 120);
  assert.equal(table.namespaces.get('a')!.modified, 12_000);
  assert.equal(table.namespaces.get('b')!.lastPushed, 100);
  assert.equal(table.namespaces.get('b')!.modified, 10_000);
  // Next check: a is at its reference point, b still below its delta.
  assert.deepEqual(collectPushes(table.namespaces, 14_000, policy), []);
});

test('collectPushes over the table\'s views decides as shouldPush does on copies of the same records', () => {
  const table = new AudienceTable();
  // Every case of the policy at once: never pushed, empty, within and past the delta, past the max delay.
  const cases: [ns: string, pushedAs: number, now: number][] = [['new', 0, 1], ['small', 5, 6], ['same', 5, 5], ['up', 100, 110], ['near', 100, 109], ['down', 100, 90], ['old', 50, 50], ['empty', 3, 0]];
  for (const [ns, pushedAs, now] of cases) {
    table.setMembers('worker:1', ns, Math.max(1, pushedAs), 0);
    if (pushedAs > 0) table.pushed([[ns, pushedAs]], ns === 'old' ? 1_000 : 10_000);
    table.setMembers('worker:1', ns, now, 11_000);
  }
  const copies = cases.map(([ns]) => table.namespaces.get(ns)!);
  const expected = copies.filter((r) => shouldPush(r, 26_000, policy)).map((r) => [r.name, r.members]);
  assert.deepEqual(expected, [['new', 1], ['small', 6], ['up', 110], ['down', 90], ['old', 50]]);
  assert.deepEqual(collectPushes(table.namespaces, 26_000, policy), expected);
  assert.deepEqual(collectPushes(copies, 26_000, policy), expected);
});
