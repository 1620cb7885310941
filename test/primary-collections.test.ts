// Issue 10, item 5, on the real daemon: what a burst leaves in the primary's old generation goes once the
// primary is idle. Idle, every collection V8 runs in the primary is a full one (collector-policy.ts); in a
// flood of namespaces, young-generation ones again (full ones there cost the primary 3.3 times its CPU per
// join). Read from the primary's own /metrics: prom-client's collection counts by kind.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { sleep, startDaemon, waitFor, type Daemon } from './helpers/daemon.js';
import { parseExposition, seriesOf } from './helpers/metrics.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';

const GC_COUNT = 'audience_meter_primary_nodejs_gc_duration_seconds_count';

let daemon: Daemon;

before(async () => {
  daemon = await startDaemon(['--attendance', 'off', '--namespace-clean-delay', '1'], { workers: 1 });
});

after(async () => {
  await daemon.stop();
});

async function collections(): Promise<{ young: number; full: number }> {
  const text = await (await fetch(`http://127.0.0.1:${daemon.notificationPort}/metrics`)).text();
  const counts = seriesOf(parseExposition(text).values, GC_COUNT);
  return { young: counts.get('{kind="minor"}') ?? 0, full: counts.get('{kind="major"}') ?? 0 };
}

/** `total` SSE streams, each to a namespace of its own, `concurrency` at a time, each closed at its first event. */
async function floodOfNamespaces(total: number, concurrency: number): Promise<void> {
  let next = 0;
  const one = (): Promise<void> => new Promise((resolve, reject) => {
    const socket = net.connect(daemon.port, '127.0.0.1', () => {
      socket.write(`GET /flood-${next++} HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n`);
    });
    socket.once('data', () => socket.destroy());
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });
  const lane = async (): Promise<void> => {
    while (next < total) await one();
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}

/** Streams kept open for the whole test: each stats read then lists this many namespaces. */
const KEPT = 1000;

/** Opens `count` SSE streams to namespaces kept-<k> and resolves once each has its first event. */
function keepViewers(count: number): Promise<SseClient[]> {
  return Promise.all(Array.from({ length: count }, (_, k) => openViewer(daemon.port, `/kept-${k}`)));
}

/**
 * Idle, as an operator's scripts leave it: a stats read every 250 ms (a millisecond of the primary's time,
 * and a list of the kept namespaces allocated each time, so V8 collects every second or so) until V8 has
 * collected `collected` times; the collections it ran meanwhile, by kind.
 */
async function idleUntilCollected(collected: number): Promise<{ young: number; full: number }> {
  await sleep(3000);
  const from = await collections();
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    for (let read = 0; read < 4; read++) {
      await daemon.stats();
      await sleep(250);
    }
    const now = await collections();
    const ran = { young: now.young - from.young, full: now.full - from.full };
    if (ran.young + ran.full >= collected) return ran;
  }
  throw new Error(`V8 collected fewer than ${collected} times in a minute of stats reads`);
}

test('idle, the primary\'s collections are full ones; in a flood of namespaces, young-generation ones', async () => {
  const kept = await keepViewers(KEPT);
  try {
    assert.deepEqual(await idleUntilCollected(3), { young: 0, full: 3 }, 'idle: full collections only');

    const floodFrom = await collections();
    await floodOfNamespaces(20_000, 200);
    const flooded = await collections();
    assert.ok(flooded.young > floodFrom.young, `young-generation collections during the flood (${JSON.stringify({ floodFrom, flooded })})`);

    // Once the flood's namespaces are gone and the primary idles again: full ones only.
    await waitFor(async () => Object.keys(await daemon.stats()).length === KEPT, 30_000, 'the flood\'s namespaces deleted');
    const after = await idleUntilCollected(3);
    assert.equal(after.young, 0, `idle again: full collections only (${JSON.stringify(after)})`);
  } finally {
    for (const viewer of kept) viewer.close();
  }
});
