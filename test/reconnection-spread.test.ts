// How the daemon spreads viewers' reconnections (issue 10, defect 6): a `retry:` drawn per SSE stream in its
// first event, and each connection's --max-conn-duration drawn between 0.9 and 1.0 of it, to the second,
// ended by the worker's one coarse timer. Units on Lifetimes with stand-in viewers, then the real daemon.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { drawRetryMs, firstCountFrame, RETRY_MAX_MS, RETRY_MIN_MS } from '../src/protocol/sse.js';
import type { Hub } from '../src/worker/hub.js';
import { drawLifetimeMs, Lifetimes, MIN_LIFETIME_SHARE } from '../src/worker/lifetimes.js';
import type { Viewer } from '../src/worker/viewer.js';
import { startDaemon, type Daemon } from './helpers/daemon.js';
import { SseClient } from './helpers/sse-client.js';

test('draws stay within their bounds', () => {
  assert.equal(drawRetryMs(0), RETRY_MIN_MS);
  assert.ok(drawRetryMs(0.999_999) < RETRY_MAX_MS);
  assert.equal(drawLifetimeMs(3_600_000, 0), 3_600_000 * MIN_LIFETIME_SHARE);
  assert.ok(drawLifetimeMs(3_600_000, 0.999_999) < 3_600_000, 'the option stays a maximum');
  assert.equal(firstCountFrame(7, 'abc', 2345).toString(), 'retry: 2345\nid: abc\ndata: 7\n\n');
});

/** A viewer as Lifetimes sees it: when it opened, where it is filed, and how it was ended. */
function standIn(openedAt: number, ended: Array<[Viewer, string]>): Viewer {
  const viewer = { openedAt, endsAtSecond: 0, end: (reason: string) => ended.push([viewer as unknown as Viewer, reason]) };
  return viewer as unknown as Viewer;
}

test('--max-conn-duration: each connection ends between 0.9 and 1.0 of it, spread over the seconds between', () => {
  // The viewers a hub holds: a viewer that left is no longer one of them.
  const held: Viewer[] = [];
  const hub = { count() {}, forEachViewer: (visit: (v: Viewer) => void) => held.forEach((v) => visit(v)) } as unknown as Hub;
  const maxMs = 100_000;
  const lifetimes = new Lifetimes(hub, 0, maxMs);
  const ended: Array<[Viewer, string]> = [];
  const openedAt = Date.now();
  const viewers = Array.from({ length: 1000 }, () => standIn(openedAt, ended));
  for (const viewer of viewers) lifetimes.track(viewer);
  held.push(...viewers);
  const gone = viewers.pop()!;
  lifetimes.forget(gone); // a viewer that left is never ended, even while a hub still lists it

  const seconds = new Set(viewers.map((v) => v.endsAtSecond));
  assert.ok(seconds.size >= 8, `1,000 viewers who joined together end over ${seconds.size} seconds (10 s of draw)`);
  lifetimes.endExpired(openedAt + maxMs * MIN_LIFETIME_SHARE - 1000);
  assert.equal(ended.length, 0, 'none before 0.9 of the maximum');
  lifetimes.endExpired(openedAt + maxMs * 0.95);
  assert.ok(ended.length > 0 && ended.length < viewers.length, `${ended.length} ended halfway through the draw`);
  lifetimes.endExpired(openedAt + maxMs);
  assert.equal(ended.length, viewers.length, 'all by the maximum');
  assert.ok(ended.every(([, reason]) => reason === 'max-duration'));
  assert.ok(!ended.some(([v]) => v === gone));
  assert.equal(new Set(ended.map(([v]) => v)).size, viewers.length, 'each ended once');

  // After a jump of the clock far ahead, what was filed still ends, and only once.
  const later = standIn(Date.now(), ended);
  lifetimes.track(later);
  held.push(later);
  lifetimes.endExpired(Date.now() + 365 * 86_400_000);
  assert.equal(ended.at(-1)![0], later);
  assert.equal(ended.length, viewers.length + 1);
});

describe('the daemon', () => {
  let daemon: Daemon;
  before(async () => { daemon = await startDaemon([], { workers: 2 }); });
  after(async () => { await daemon.stop(); });

  test("every SSE stream's first event carries a retry: of its own, on both paths", async () => {
    // The raw fast path, and node:http (the fast path declines a chunked body).
    const viewers = [
      ...Array.from({ length: 20 }, () => new SseClient(daemon.port, '/spread')),
      new SseClient(daemon.port, '/spread', { method: 'POST', headers: { 'Transfer-Encoding': 'chunked' } }),
    ];
    try {
      await Promise.all(viewers.map((v) => v.waitForEvents(1)));
      const retries = viewers.map((v) => {
        const first = /^retry: (\d+)\nid: [^\n]+\ndata: \d+\n\n/.exec(v.body);
        assert.ok(first, `first event: ${JSON.stringify(v.body.slice(0, 80))}`);
        return Number(first[1]);
      });
      assert.ok(retries.every((ms) => ms >= RETRY_MIN_MS && ms < RETRY_MAX_MS), retries.join(' '));
      assert.ok(new Set(retries).size > 1, 'drawn per connection');
      assert.ok(!viewers[0]!.body.slice(viewers[0]!.body.indexOf('\n\n')).includes('retry:'), 'only in the first event');
    } finally {
      for (const v of viewers) v.close();
    }
  });
});
