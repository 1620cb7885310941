// The keep-alive (src/worker/hub.ts, run each second by src/worker/lifetimes.ts) without processes: a real Hub
// whose viewers' sinks record what they get, and times the test gives. A room that had a push needs no
// keep-alive until it has been silent for the idle time again; a silent room gets one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hub } from '../src/worker/hub.js';
import { countPush } from '../src/worker/push.js';
import { KEEPALIVE_FRAME } from '../src/protocol/sse.js';
import { SseViewer, type StreamSink } from '../src/worker/viewer.js';

class RecordingSink implements StreamSink {
  readonly frames: string[] = [];
  writableLength = 0;
  write(frame: Buffer): boolean {
    this.frames.push(frame.toString());
    return true;
  }
  end(): void {}
  destroy(): void {}
}

function viewerIn(hub: Hub, ns: string): RecordingSink {
  const sink = new RecordingSink();
  hub.add(new SseViewer(hub.roomFor(ns), sink, 0, undefined, `s-${ns}`));
  return sink;
}

const IDLE_MS = 14_000;
const keepAlives = (sink: RecordingSink) => sink.frames.filter((f) => f === KEEPALIVE_FRAME.toString()).length;

test('only rooms silent for the idle time get the keep-alive; a push counts as bytes', () => {
  const hub = new Hub();
  const pushed = viewerIn(hub, 'pushed');
  const silent = viewerIn(hub, 'silent');
  const t0 = Date.now(); // both rooms were made (and their viewers' first bytes counted) at or before this
  hub.broadcast('pushed', countPush(2), t0 + 10_000);
  hub.keepAlive(t0 + 14_000, IDLE_MS);
  assert.equal(keepAlives(silent), 1, 'silent for 14 s: kept alive');
  assert.equal(keepAlives(pushed), 0, 'pushed 4 s ago: nothing');
  assert.deepEqual(pushed.frames, ['data: 2\n\n']);
  hub.keepAlive(t0 + 20_000, IDLE_MS);
  assert.equal(keepAlives(silent), 1, 'its keep-alive 6 s ago counts as bytes');
  assert.equal(keepAlives(pushed), 0, 'pushed 10 s ago');
  hub.keepAlive(t0 + 24_000, IDLE_MS);
  assert.equal(keepAlives(pushed), 1, 'silent for 14 s since the push');
  assert.equal(keepAlives(silent), 1);
  hub.keepAlive(t0 + 28_000, IDLE_MS);
  assert.equal(keepAlives(silent), 2, 'silent for 14 s since its keep-alive');
});

test('a room made after the last check waits the idle time from its creation', () => {
  const hub = new Hub();
  const t0 = Date.now();
  const late = viewerIn(hub, 'late');
  hub.keepAlive(t0 + IDLE_MS - 1000, IDLE_MS);
  assert.equal(keepAlives(late), 0);
  hub.keepAlive(Date.now() + IDLE_MS, IDLE_MS);
  assert.equal(keepAlives(late), 1);
});
