// The primary's session registry: device-limit decisions, distinct users, and exits for a dead worker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SessionRegistry } from '../src/primary/session-registry.js';
import type { SessionEntry } from '../src/protocol/sessions.js';

function entry(session: string, at: number, user: string | null, ns = 'ev'): SessionEntry {
  return { session, connection: `c-${session}`, ns, user, name: null, at, page: null, browser: null, os: null, device: null, ip: null, transport: 'sse' };
}

test('beyond --max-devices the oldest session by entry time is expelled, even when reports arrive out of order', () => {
  const registry = new SessionRegistry(2);
  assert.deepEqual(registry.apply(1, [entry('b', 200, 'u')], []), []);
  assert.deepEqual(registry.apply(2, [entry('c', 300, 'u')], []), []);
  // Worker 3's report comes last but its session entered first: it is the oldest.
  assert.deepEqual(registry.apply(3, [entry('a', 100, 'u')], []), ['a']);
  assert.deepEqual(registry.apply(1, [entry('d', 400, 'u')], []), ['b']);
  // An expelled session still open does not count against the limit again.
  assert.deepEqual(registry.apply(2, [entry('e', 500, 'u')], [{ session: 'a', at: 510, reason: 'expelled' }]), ['c']);
  assert.equal(registry.users('ev'), 1);
});

test('no limit with 0; anonymous sessions never count; users are distinct per namespace', () => {
  const registry = new SessionRegistry(0);
  const expel = registry.apply(1, [entry('a', 1, 'u'), entry('b', 2, 'u'), entry('c', 3, 'v'), entry('d', 4, null), entry('e', 5, 'u', 'other')], []);
  assert.deepEqual(expel, []);
  assert.equal(registry.users('ev'), 2);
  assert.equal(registry.users('other'), 1);
  registry.apply(1, [], [{ session: 'a', at: 9, reason: 'left' }]);
  assert.equal(registry.users('ev'), 2);
  registry.apply(1, [], [{ session: 'b', at: 9, reason: 'left' }]);
  assert.equal(registry.users('ev'), 1);
});

test('a dead worker\'s open sessions end with the given reason; the others stay', () => {
  const registry = new SessionRegistry(1);
  registry.apply(1, [entry('a', 1, 'u'), entry('b', 2, null)], [{ session: 'b', at: 3, reason: 'left' }]);
  registry.apply(2, [entry('c', 4, null, 'x')], []);
  assert.deepEqual(registry.dropWorker(1, 'crash', 10), [{ session: 'a', at: 10, reason: 'crash' }]);
  assert.equal(registry.users('ev'), 0);
  assert.equal(registry.size, 1);
  assert.deepEqual(registry.dropWorker(1, 'crash', 11), []);
});
