// A worker's report cut into messages of bounded size (src/worker/report-parts.ts): every part stays below V8's
// large-object size, the parts together are the report in its order (counts, entries, exits: an exit never
// before its entry; then exclusions, feed events, addresses), every list cut alike; the primary puts the parts back together
// (src/primary/report-assembly.ts) and acts on the whole report, as on one message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWorkerMessage, type AddressEntry, type FeedEvent, type WorkerReport as Report } from '../src/protocol/ipc.js';
import type { SessionEntry, SessionExit } from '../src/protocol/sessions.js';
import { MAX_PENDING_PARTS, ReportAssembly } from '../src/primary/report-assembly.js';
import { PART_CHARS, reportParts } from '../src/worker/report-parts.js';

function entry(i: number, userAgent: string | null = null): SessionEntry {
  return {
    session: `session-${String(i).padStart(14, '0')}`, connection: `n1-1-abc-${i.toString(36)}`, ns: `leak-${i % 2000}`,
    user: null, name: null, at: 1_764_600_000_000 + i, page: null, browser: null, os: null, device: null,
    ip: '127.0.0.1', transport: 'sse', userAgent,
  };
}

function exit(i: number): SessionExit {
  return { session: `session-${String(i).padStart(14, '0')}`, at: 1_764_600_000_500 + i, reason: 'left' };
}

function churnReport(sessions: number, userAgent: string | null = null): Report {
  return {
    type: 'report',
    entries: Array.from({ length: 2000 }, (_, k) => [`leak-${k}`, k % 3, k % 5] as [string, number, number]),
    exclusions: [{ uuid: 'u-1', at: 5, worker: 1 }],
    entered: Array.from({ length: sessions }, (_, i) => entry(i, userAgent)),
    exited: Array.from({ length: sessions }, (_, i) => exit(i)),
    feed: [['join', entry(0), 7]],
    addresses: [['127.0.0.1', 3]],
  };
}

test('a small report goes as it is, in one message', () => {
  const report = churnReport(10);
  report.entries = report.entries.slice(0, 10);
  const parts = reportParts(report);
  assert.equal(parts.length, 1);
  assert.equal(parts[0], report);
});

test('a churn report is cut into valid reports below the large-object size, which together are the report in order', () => {
  for (const userAgent of [null, 'Mozilla/5.0 '.repeat(40)]) {
    const report = churnReport(3000, userAgent);
    const parts = reportParts(report);
    assert.ok(parts.length > 5, `${parts.length} parts`);
    for (const part of parts) {
      const chars = JSON.stringify(part).length;
      assert.ok(chars <= PART_CHARS, `a part of ${chars} characters`);
      assert.ok(chars < 128 * 1024);
      assert.ok(parseWorkerMessage(JSON.parse(JSON.stringify(part))), 'each part is a valid report');
    }
    assert.deepEqual(parts.flatMap((p) => p.entries), report.entries);
    assert.deepEqual(parts.flatMap((p) => p.entered), report.entered);
    assert.deepEqual(parts.flatMap((p) => p.exited), report.exited);
    // Entries before exits across the parts: no part holds an entry after one that held an exit.
    const firstExit = parts.findIndex((p) => p.exited.length > 0);
    assert.ok(parts.slice(firstExit + 1).every((p) => p.entered.length === 0));
    assert.deepEqual(parts.flatMap((p) => p.exclusions), report.exclusions);
    assert.deepEqual(parts.flatMap((p) => p.feed ?? []), report.feed);
    assert.deepEqual(parts.flatMap((p) => p.addresses ?? []), report.addresses);
  }
});

test('a busy live feed and many addresses are cut too: no part passes the bound, the primary gets every event in order', () => {
  const report = churnReport(10, 'Mozilla/5.0 '.repeat(40));
  report.feed = Array.from({ length: 2000 }, (_, i) => [i % 2 ? 'leave' : 'join', entry(i, 'Mozilla/5.0 '.repeat(40)), i] as FeedEvent);
  report.addresses = Array.from({ length: 5000 }, (_, i) => [`10.0.${i >> 8}.${i & 255}`, i % 7] as AddressEntry);
  report.exclusions = Array.from({ length: 2000 }, (_, i) => ({ uuid: `uuid-${i}`, at: i, worker: 1 }));
  const parts = reportParts(report);
  for (const part of parts) {
    const chars = JSON.stringify(part).length;
    assert.ok(chars <= PART_CHARS, `a part of ${chars} characters`);
    assert.ok(parseWorkerMessage(JSON.parse(JSON.stringify(part))), 'each part is a valid report');
  }
  const assembly = new ReportAssembly();
  const whole = parts.map((part) => assembly.add(1, part)).at(-1)!;
  assert.deepEqual(whole.feed, report.feed);
  assert.deepEqual(whole.addresses, report.addresses);
  assert.deepEqual(whole.exclusions, report.exclusions);
  assert.deepEqual(whole.entered, report.entered);
});

test('an item larger than a part goes in a part of its own', () => {
  const report = churnReport(3);
  report.entries = [];
  const parts = reportParts(report, 100);
  // Three entries, three exits, an exclusion, a feed event and an address: each above the bound of 100.
  const items = (p: Report): number => p.entered.length + p.exited.length + p.exclusions.length + (p.feed?.length ?? 0) + (p.addresses?.length ?? 0);
  assert.deepEqual(parts.map(items), [1, 1, 1, 1, 1, 1, 1, 1, 1]);
});

test('the primary acts on the whole report: its parts, from each worker, put back together', () => {
  const assembly = new ReportAssembly();
  const report = churnReport(3000);
  const parts = reportParts(report);
  const other = churnReport(2);
  other.entries = [];
  assert.ok(parts.slice(0, -1).every((p) => p.more === true) && parts.at(-1)!.more === undefined);
  for (const part of parts.slice(0, -1)) {
    assert.equal(assembly.add(1, part), undefined, 'nothing until the last part');
    assert.equal(assembly.add(2, other), other, 'another worker\'s report in one message goes at once');
  }
  const whole = assembly.add(1, parts.at(-1)!)!;
  assert.deepEqual(whole, { type: 'report', entries: report.entries, exclusions: report.exclusions, entered: report.entered, exited: report.exited, feed: report.feed, addresses: report.addresses });
  assert.equal(assembly.takePartial(1), undefined, 'nothing left waiting');
});

test('parts of a worker that died are a report; a last part that never comes cannot grow the wait without bound', () => {
  const assembly = new ReportAssembly();
  const parts = reportParts(churnReport(3000));
  for (const part of parts.slice(0, 3)) assembly.add(1, part);
  const partial = assembly.takePartial(1)!;
  assert.deepEqual(partial.entered, parts.slice(0, 3).flatMap((p) => p.entered));
  assert.equal(assembly.takePartial(1), undefined);
  const part: Report = { type: 'report', entries: [], exclusions: [], entered: [], exited: [{ session: 's', at: 1, reason: 'left' }], more: true };
  let whole: Report | undefined;
  let added = 0;
  while (!whole) {
    whole = assembly.add(3, part);
    added++;
  }
  assert.equal(added, MAX_PENDING_PARTS);
  assert.equal(whole.exited.length, MAX_PENDING_PARTS);
});
