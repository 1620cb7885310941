// The admin listing without a copy in the primary: each worker keeps its connections' facts and lists them
// when asked (worker/connection-listing.ts), the primary merges the workers' pages in a stable order
// (primary/worker-listing.ts), and feed events exist only while a feed is open.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AddressTable } from '../src/primary/address-table.js';
import { WorkerListing, type ListMessage } from '../src/primary/worker-listing.js';
import type { ConnectionFacts } from '../src/protocol/ipc.js';
import { ConnectionListing } from '../src/worker/connection-listing.js';
import { ConnectionIds } from '../src/worker/session-ids.js';

const idOf = (c: unknown): string => (c as { id: string }).id;

function facts(ids: ConnectionIds, number: number, ns: string, user: string | null = null): ConnectionFacts {
  return { session: `s-${ids.name(number)}`, connection: ids.name(number), ns, user, name: null, at: 1000 + number, page: null, browser: null, os: null, device: null, ip: '192.0.2.1', transport: 'sse' };
}

/** Workers 2, 5 and 9, each with a listing of its own, answering the primary's `list` at once. */
function node(perWorker: number): { listing: WorkerListing; workers: Map<number, ConnectionListing>; asked: ListMessage[] } {
  const workers = new Map<number, ConnectionListing>();
  const asked: ListMessage[] = [];
  for (const worker of [9, 2, 5]) {
    const ids = new ConnectionIds('n0', worker, 1);
    const own = new ConnectionListing(ids);
    for (let k = 0; k < perWorker; k++) own.add(ids.take(), facts(ids, k, k % 2 === 0 ? 'even' : 'odd', k === 1 ? 'ann' : null));
    workers.set(worker, own);
  }
  const listing: WorkerListing = new WorkerListing({
    workers: () => [...workers.keys()],
    send(worker, message) {
      asked.push(message);
      const page = workers.get(worker)!.list(message.ns, message.user, message.from, message.limit);
      queueMicrotask(() => listing.listed(worker, message.id, page.connections, page.matched));
      return true;
    },
    describe: (f) => ({ id: f.connection, ns: f.ns }),
  });
  return { listing, workers, asked };
}

test('pages walk every worker in order, each connection once, and the cursor asks only the workers from its own on', async () => {
  const { listing, asked } = node(5);
  const all = await listing.page({ ns: undefined, user: undefined, limit: 1000 }, 0);
  assert.equal(all.connections.length, 15);
  assert.equal(all.next, null);
  assert.deepEqual(all.connections.slice(0, 6).map(idOf), ['n0-2-1-0', 'n0-2-1-1', 'n0-2-1-2', 'n0-2-1-3', 'n0-2-1-4', 'n0-5-1-0']);
  const paged: unknown[] = [];
  let after = 0;
  for (let pages = 0; pages < 10; pages++) {
    asked.length = 0;
    const page = await listing.page({ ns: undefined, user: undefined, limit: 4 }, after);
    paged.push(...page.connections.map(idOf));
    if (pages > 0) assert.ok(asked.every((m) => m.limit === 4), 'a page asks for a page');
    if (page.next === null) break;
    assert.equal(page.connections.length, 4);
    after = page.next;
  }
  assert.deepEqual(paged, all.connections.map(idOf));
  // After the last connection of worker 5: worker 2 is not asked again.
  asked.length = 0;
  const late = await listing.page({ ns: undefined, user: undefined, limit: 2 }, 5 * 2 ** 32 + 4);
  assert.deepEqual(asked.map((m) => m.from), [5, 0], 'worker 5 from after the cursor, worker 9 from its start');
  assert.deepEqual(late.connections.map(idOf), ['n0-9-1-0', 'n0-9-1-1']);
  assert.notEqual(late.next, null);
});

test('a page filters by namespace and user; the last full page says there is no more', async () => {
  const { listing } = node(4);
  const odd = await listing.page({ ns: 'odd', user: undefined, limit: 6 }, 0);
  assert.deepEqual(odd.connections.map(idOf), ['n0-2-1-1', 'n0-2-1-3', 'n0-5-1-1', 'n0-5-1-3', 'n0-9-1-1', 'n0-9-1-3']);
  assert.equal(odd.next, null, 'nothing after the sixth');
  const ann = await listing.page({ ns: undefined, user: 'ann', limit: 2 }, 0);
  assert.deepEqual(ann.connections.map(idOf), ['n0-2-1-1', 'n0-5-1-1']);
  assert.notEqual(ann.next, null, 'a third on worker 9');
  const snapshot = await listing.snapshot('even');
  assert.equal(snapshot.total, 6);
});

test('a closed connection leaves the listing; feed events exist only while a feed is open', () => {
  const ids = new ConnectionIds('n0', 1, 1);
  const own = new ConnectionListing(ids);
  own.add(ids.take(), facts(ids, 0, 'a'));
  assert.deepEqual(own.takeFeed(), [], 'no feed open: nothing gathered');
  own.setFeed(true);
  own.add(ids.take(), facts(ids, 1, 'a'));
  own.pages([[ids.name(1), '/next', 2000], ['not-an-id', '/x', 2000]]);
  own.remove(0, 3000);
  assert.deepEqual(own.takeFeed().map(([kind, f, at]) => [kind, f.connection, f.page, at]), [
    ['join', ids.name(1), '/next', 1001], ['page', ids.name(1), '/next', 2000], ['leave', ids.name(0), null, 3000],
  ]);
  assert.deepEqual(own.list(null, null, 0, 10).connections.map((f) => [f.connection, f.page]), [[ids.name(1), '/next']]);
  own.setFeed(false);
  own.remove(1, 4000);
  assert.deepEqual(own.takeFeed(), []);
  assert.equal(own.list(null, null, 0, 10).matched, 0);
});

test('open streams per address: the workers\' counts add up, a dead worker\'s share goes whole', () => {
  const heard: Array<[string, number]> = [];
  const table = new AddressTable((ip, open) => heard.push([ip, open]));
  table.set(1, [['192.0.2.1', 3], ['192.0.2.2', 1]]);
  table.set(2, [['192.0.2.1', 2]]);
  table.set(2, [['192.0.2.1', 2]]);
  assert.deepEqual(heard, [['192.0.2.1', 3], ['192.0.2.2', 1], ['192.0.2.1', 5]], 'a repeated count changes nothing');
  heard.length = 0;
  table.dropWorker(1);
  assert.deepEqual(heard, [['192.0.2.1', 2], ['192.0.2.2', 0]]);
});
