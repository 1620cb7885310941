import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AudienceTable } from '../src/primary/audience-table.js';

test('members are the sum of the sources, and reports are absolute', () => {
  const table = new AudienceTable();
  table.setMembers('worker:1', 'ev', 3, 1000);
  table.setMembers('worker:2', 'ev', 4, 1000);
  table.setMembers('worker:1', 'ev', 3, 1100); // a repeated report changes nothing
  assert.equal(table.namespaces.get('ev')!.members, 7);
  table.setMembers('worker:1', 'ev', 1, 1200);
  assert.equal(table.namespaces.get('ev')!.members, 5);
  assert.equal(table.othersMembers('ev', 'worker:2'), 1);
});

test('dropping a source removes exactly what it held', () => {
  const table = new AudienceTable();
  table.setMembers('worker:1', 'a', 3, 1000);
  table.setMembers('worker:1', 'b', 2, 1000);
  table.setMembers('worker:2', 'a', 4, 1000);
  table.dropSource('worker:1', 2000);
  assert.equal(table.namespaces.get('a')!.members, 4);
  assert.equal(table.namespaces.get('b')!.members, 0);
  assert.equal(table.namespaces.get('b')!.emptySince, 2000);
});

test('connections accumulate and survive a dropped source', () => {
  const table = new AudienceTable();
  table.setMembers('worker:1', 'ev', 2, 1000);
  table.addConnections('ev', 2, 1000);
  table.dropSource('worker:1', 1500);
  table.addConnections('ev', 1, 1600);
  assert.equal(table.namespaces.get('ev')!.connections, 3);
});

test('an empty namespace is deleted after the clean delay, not before, and not if it refills', () => {
  const table = new AudienceTable();
  table.setMembers('worker:1', 'a', 1, 0);
  table.setMembers('worker:1', 'b', 1, 0);
  table.setMembers('worker:1', 'a', 0, 1000);
  table.setMembers('worker:1', 'b', 0, 1000);
  table.setMembers('worker:1', 'b', 2, 5000);
  assert.deepEqual(table.sweep(60_999, 60_000), []);
  assert.deepEqual(table.sweep(61_000, 60_000), ['a']);
  assert.ok(table.namespaces.has('b'));
});

test('the snapshot has the 2.x fields in UNIX seconds', () => {
  const table = new AudienceTable();
  table.setMembers('worker:1', 'ev', 2, 1_700_000_000_500);
  table.addConnections('ev', 2, 1_700_000_000_500);
  assert.deepEqual(table.snapshot(), { ev: { created: 1_700_000_000, connections: 2, members: 2, modified: 0, users: 0 } });
});

test('takeChanged returns each changed namespace once', () => {
  const table = new AudienceTable();
  table.setMembers('worker:1', 'a', 1, 0);
  table.setMembers('worker:2', 'a', 1, 0);
  assert.deepEqual([...table.takeChanged()], ['a']);
  assert.deepEqual([...table.takeChanged()], []);
});

test('a peer\'s advertisements replace its previous members and joins; totals add every source', () => {
  const table = new AudienceTable();
  table.setMembers('worker:1', 'ev', 2, 1000);
  table.addConnections('ev', 3, 1000);
  table.setPeerCounts('node:b', 'ev', 4, 10, 1100);
  table.setPeerCounts('node:b', 'ev', 5, 11, 1200);
  table.setPeerCounts('node:b', 'ev', 5, 11, 1300); // a repeated advertisement changes nothing
  const record = table.namespaces.get('ev')!;
  assert.equal(record.members, 7);
  assert.equal(record.connections, 14);
  assert.equal(table.othersMembers('ev', 'worker:1'), 5);
  table.dropSource('node:b', 1400);
  assert.equal(record.members, 7, 'a record is a copy of what the table held');
  assert.equal(table.namespaces.get('ev')!.members, 2);
  assert.equal(table.namespaces.get('ev')!.connections, 3, 'a departed peer takes its joins along; ours stay');
});

test('localCounts is this node\'s own part only, never what peers advertised', () => {
  const table = new AudienceTable();
  table.setMembers('worker:1', 'ev', 2, 0);
  table.setMembers('worker:2', 'ev', 1, 0);
  table.addConnections('ev', 4, 0);
  table.setPeerCounts('node:b', 'ev', 9, 20, 0);
  table.setPeerCounts('node:b', 'theirs', 3, 3, 0);
  table.setMembers('worker:1', 'left', 1, 0);
  table.addConnections('left', 1, 0);
  table.setMembers('worker:1', 'left', 0, 10);
  assert.deepEqual(table.localCounts(), [['ev', 3, 4], ['left', 0, 1]]);
  table.dropSource('worker:2', 20);
  assert.deepEqual(table.localCounts()[0], ['ev', 2, 4]);
});

test('takeLocalChanges hands out each change of this node\'s own part once, as it is now, from the first take on', () => {
  const table = new AudienceTable();
  table.setMembers('worker:1', 'before', 1, 0);
  assert.deepEqual(table.takeLocalChanges(), [], 'nothing is tracked before the first take (its caller asserts the whole state)');
  table.setMembers('worker:1', 'ev', 2, 0);
  table.addConnections('ev', 2, 0);
  table.setMembers('worker:1', 'ev', 1, 0);
  table.setPeerCounts('node:b', 'theirs', 5, 5, 0);
  table.setPeerCounts('node:b', 'ev', 7, 7, 0);
  assert.deepEqual(table.takeLocalChanges(), [['ev', 1, 2]], 'one entry per namespace, what peers hold is not this node\'s change');
  assert.deepEqual(table.takeLocalChanges(), []);
  table.dropSource('worker:1', 10);
  assert.deepEqual(table.takeLocalChanges().sort(), [['before', 0, 0], ['ev', 0, 2]], 'a dead worker changes what this node holds');
  table.setPeerCounts('node:b', 'ev', 0, 0, 10);
  table.sweep(20, 5);
  assert.deepEqual(table.takeLocalChanges(), [['ev', 0, 0]], 'a swept namespace this node had joins in is no longer held');
});

test('an empty namespace is swept with what peers held in it, and an empty advertisement does not revive it', () => {
  const table = new AudienceTable();
  table.setPeerCounts('node:b', 'ev', 2, 2, 0);
  table.setPeerCounts('node:b', 'ev', 0, 2, 1000);
  assert.equal(table.namespaces.get('ev')!.emptySince, 1000);
  table.setPeerCounts('node:b', 'ev', 0, 3, 2000);
  assert.equal(table.namespaces.get('ev')!.emptySince, 2000, 'a viewer came and went on the peer: in use at 2000');
  table.setPeerCounts('node:b', 'ev', 0, 3, 3000);
  assert.equal(table.namespaces.get('ev')!.emptySince, 2000, 'the same advertisement again is no use');
  assert.deepEqual(table.sweep(61_999, 60_000), []);
  assert.deepEqual(table.sweep(62_000, 60_000), ['ev']);
  table.setPeerCounts('node:b', 'ev', 0, 3, 62_000);
  assert.equal(table.namespaces.has('ev'), false);
  table.setPeerCounts('node:b', 'ev', 1, 4, 63_000);
  assert.deepEqual(table.snapshot().ev, { created: 63, connections: 4, members: 1, modified: 0, users: 0 }, 'starts afresh, not from the swept joins');
});

test('pushed() sets each pushed namespace\'s reference point and time, and nothing else', () => {
  const table = new AudienceTable();
  table.setMembers('worker:1', 'a', 3, 1000);
  table.setMembers('worker:1', 'b', 4, 1000);
  table.pushed([['a', 3], ['gone', 1]], 5000);
  assert.deepEqual(table.namespaces.get('a'), { name: 'a', created: 1000, connections: 0, members: 3, modified: 5000, lastPushed: 3, emptySince: undefined, localMembers: 3, localConnections: 0 });
  assert.equal(table.namespaces.get('b')!.modified, 0);
  assert.equal(table.namespaces.has('gone'), false, 'a push of a namespace deleted meanwhile does not bring it back');
});

test('a flood of namespaces, swept, leaves the table as it was; a namespace created afterwards starts from zero', () => {
  const table = new AudienceTable();
  table.setMembers('worker:1', 'stays', 2, 0);
  table.addConnections('stays', 2, 0);
  for (let k = 0; k < 50_000; k++) {
    table.setMembers(`worker:${1 + (k % 2)}`, `f-${k}`, 1, 10);
    table.addConnections(`f-${k}`, 1, 10);
    table.setMembers(`worker:${1 + (k % 2)}`, `f-${k}`, 0, 20);
  }
  assert.equal(table.namespaces.size, 50_001);
  assert.equal(table.sweep(30, 10).length, 50_000);
  assert.deepEqual([...table.namespaces.keys()], ['stays']);
  assert.deepEqual(table.snapshot(), { stays: { created: 0, connections: 2, members: 2, modified: 0, users: 0 } });
  assert.equal(table.membersOf('worker:1'), 2);
  assert.equal(table.membersOf('worker:2'), 0);
  assert.equal(table.localMembers(), 2);
  table.setMembers('worker:2', 'new', 1, 40_000);
  assert.deepEqual(table.namespaces.get('new'), { name: 'new', created: 40_000, connections: 0, members: 1, modified: 0, lastPushed: 0, emptySince: undefined, localMembers: 1, localConnections: 0 });
});

test('a dead worker\'s members go with it, the worker that replaces it starts from zero, and a later one finds every count intact', () => {
  const table = new AudienceTable();
  table.setMembers('worker:1', 'a', 3, 0);
  table.setMembers('worker:2', 'a', 2, 0);
  table.setMembers('worker:2', 'b', 1, 0);
  table.dropSource('worker:1', 10);
  assert.equal(table.namespaces.get('a')!.members, 2);
  assert.equal(table.membersOf('worker:1'), 0);
  table.setMembers('worker:3', 'a', 1, 20);
  assert.equal(table.namespaces.get('a')!.members, 3, 'the new worker does not inherit the dead one\'s count');
  assert.equal(table.othersMembers('a', 'worker:3'), 2);
  // Two workers more than ever before: the rows widen with namespaces in them.
  table.setMembers('worker:4', 'b', 4, 30);
  table.setMembers('worker:5', 'c', 6, 30);
  assert.deepEqual([table.membersOf('worker:2'), table.membersOf('worker:3'), table.membersOf('worker:4'), table.membersOf('worker:5')], [3, 1, 4, 6]);
  const seen: [string, number, number][] = [];
  table.namespaces.forEach((r) => seen.push([r.name, r.members, r.localMembers]));
  assert.deepEqual(seen, [['a', 3, 3], ['b', 5, 5], ['c', 6, 6]]);
  assert.equal(table.othersMembers('b', 'worker:4'), 1);
  assert.equal(table.othersMembers('b', 'node:x'), 5, 'a source that holds nothing');
});

test('viewers who came and went between two reports keep a namespace from the sweep, and its joins', () => {
  const table = new AudienceTable();
  table.addConnections('busy', 1, 0);
  table.setMembers('worker:1', 'busy', 1, 0);
  table.setMembers('worker:1', 'busy', 0, 1000);
  // Every report from now on: joins, but the members at report time are 0 again (unchanged).
  for (let t = 20_000; t <= 100_000; t += 20_000) {
    table.addConnections('busy', 3, t);
    table.setMembers('worker:1', 'busy', 0, t);
    assert.deepEqual(table.sweep(t, 60_000), [], `in use at ${t}`);
  }
  assert.equal(table.namespaces.get('busy')!.connections, 16, 'its joins are not lost to a sweep');
  assert.deepEqual(table.sweep(159_999, 60_000), []);
  assert.deepEqual(table.sweep(160_000, 60_000), ['busy']);
});

test('forEach hands a view that reads each namespace\'s row during its visit, as get() copies it, and is unusable after', () => {
  const table = new AudienceTable();
  table.setMembers('worker:1', 'a', 3, 1000);
  table.setMembers('worker:2', 'a', 2, 1000);
  table.addConnections('a', 5, 1000);
  table.setPeerCounts('node:b', 'a', 4, 7, 1500);
  table.setMembers('worker:1', 'empty', 1, 2000);
  table.setMembers('worker:1', 'empty', 0, 3000);
  table.pushed([['a', 9]], 4000);
  const fields = ['name', 'created', 'connections', 'members', 'modified', 'lastPushed', 'emptySince', 'localMembers', 'localConnections'] as const;
  const read: Record<string, unknown>[] = [];
  let kept: unknown;
  table.namespaces.forEach((view) => {
    read.push(Object.fromEntries(fields.map((f) => [f, view[f]])));
    kept = view;
  });
  assert.deepEqual(read, [table.namespaces.get('a'), table.namespaces.get('empty')]);
  assert.deepEqual(read[0], { name: 'a', created: 1000, connections: 12, members: 9, modified: 4000, lastPushed: 9, emptySince: undefined, localMembers: 5, localConnections: 5 });
  assert.equal(read[1]!.emptySince, 3000);
  assert.throws(() => (kept as { members: number }).members, /read after its visit/, 'a view kept past its visit does not show another row');
});

test('forEach: deleting namespaces during the visit is allowed, and the view keeps reading the visited row', () => {
  const table = new AudienceTable();
  for (const ns of ['x', 'y', 'z']) table.setMembers('worker:1', ns, 1, 0);
  table.setMembers('worker:1', 'y', 0, 10);
  const seen: [string, number][] = [];
  table.namespaces.forEach((r) => {
    if (r.name === 'x') table.sweep(20, 5);
    seen.push([r.name, r.members]);
  });
  assert.deepEqual(seen, [['x', 1], ['z', 1]]);
});
