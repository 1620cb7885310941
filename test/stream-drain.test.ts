// The worker's part of a drain (src/worker/drain.ts) without processes: a real Hub with viewers whose sinks
// record what they get, and a clock the test moves tick by tick.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hub } from '../src/worker/hub.js';
import { StreamDrain } from '../src/worker/drain.js';
import { SseViewer, type StreamSink } from '../src/worker/viewer.js';

class RecordingSink implements StreamSink {
  readonly frames: string[] = [];
  ended = false;
  writableLength = 0;
  write(frame: Buffer): boolean {
    this.frames.push(frame.toString());
    return true;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.ended = true;
  }
}

function addViewers(hub: Hub, ns: string, n: number): SseViewer[] {
  return Array.from({ length: n }, (_, i) => {
    const viewer = new SseViewer(hub.roomFor(ns), new RecordingSink(), 0, undefined, `s-${ns}-${i}`);
    hub.add(viewer);
    hub.count(viewer);
    return viewer;
  });
}

/** Runs the drain's ticks by hand every 100 ms of a fake clock; a stream's 'close' removes it from the hub. */
function drive(hub: Hub, drain: StreamDrain, clock: { now: number }, ms: number, onTick: () => void = () => {}): void {
  for (let t = 0; t < ms; t += 100) {
    clock.now += 100;
    drain.tick();
    for (const viewer of [...hub.viewers()]) if (((viewer as SseViewer).sink as RecordingSink).ended) hub.leave(viewer);
    onTick();
  }
}

test('streams end evenly over the window, each after a retry: of 0.5 to 1.5 s', () => {
  const hub = new Hub();
  const viewers = [...addViewers(hub, 'a', 60), ...addViewers(hub, 'b', 40)];
  const clock = { now: 0 };
  const drain = new StreamDrain(hub, () => clock.now);
  drain.start(1000, 1000);
  drain.stop(); // the test ticks by hand
  const openAfterTick: number[] = [];
  drive(hub, drain, clock, 1000, () => openAfterTick.push(hub.openViewers()));
  assert.equal(hub.openViewers(), 0);
  // About a tenth per tick: never a wave.
  const endedPerTick = openAfterTick.map((open, i) => (i === 0 ? 100 : openAfterTick[i - 1]!) - open);
  assert.ok(endedPerTick.every((n) => n <= 20), `ended per tick: ${endedPerTick}`);
  assert.ok(openAfterTick[4]! >= 40 && openAfterTick[4]! <= 60, `half way: ${openAfterTick[4]} open`);
  for (const viewer of viewers) {
    const frames = (viewer.sink as RecordingSink).frames;
    const retry = /^retry: (\d+)\n\n$/.exec(frames.at(-1)!);
    assert.ok(retry && Number(retry[1]) >= 500 && Number(retry[1]) <= 1500, `last frame ${JSON.stringify(frames.at(-1))}`);
    assert.equal(viewer.endedFor, 'shutdown');
  }
});

test('streams that arrive during the window are spread over what is left of it, and none outlives it', () => {
  const hub = new Hub();
  addViewers(hub, 'a', 20);
  const clock = { now: 0 };
  const drain = new StreamDrain(hub, () => clock.now);
  drain.start(2000, 1000);
  drain.stop();
  drive(hub, drain, clock, 1000);
  const late = addViewers(hub, 'late', 40);
  let lateOpenAfterOneTick = 0;
  drive(hub, drain, clock, 100, () => { lateOpenAfterOneTick = late.filter((v) => v.endedFor === undefined).length; });
  assert.ok(lateOpenAfterOneTick >= 30, `${lateOpenAfterOneTick} of 40 late streams still open a tick later`);
  drive(hub, drain, clock, 900);
  assert.equal(hub.openViewers(), 0, 'all ended by the end of the window');
  // And after it, a straggler is ended at the next tick.
  const straggler = addViewers(hub, 'late', 1);
  drive(hub, drain, clock, 100);
  assert.equal(straggler[0]!.endedFor, 'shutdown');
});
