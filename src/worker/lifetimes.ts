// The per-worker clock for viewers: --increment-delay, --max-conn-duration and keep-alives run on a few
// coarse timers for the whole worker, never one timer per connection. The increment delay is the same for
// every viewer, so insertion order is its expiry order and each check stops at the first viewer not yet due.
// Maximum durations are drawn per connection (see `drawLifetimeMs`), so those viewers are filed by the
// second they are due instead, and each check ends the seconds that have come.
import type { Hub } from './hub.js';
import type { Viewer } from './viewer.js';

const INCREMENT_CHECK_MS = 100;
const DURATION_CHECK_MS = 1000;
/** No SSE stream goes longer than this without a byte (proxies' idle timeouts are set above it: docs/proxies.md). */
export const KEEPALIVE_MS = 15_000;
const KEEPALIVE_CHECK_MS = 1000;
/** The shortest share of --max-conn-duration a connection may be given (the option stays a maximum). */
export const MIN_LIFETIME_SHARE = 0.9;

/**
 * One connection's lifetime, uniform in [0.9, 1.0] of --max-conn-duration: viewers who joined in the same
 * minute then do not all reconnect in the same second an hour later.
 */
export function drawLifetimeMs(maxDurationMs: number, random: number = Math.random()): number {
  return maxDurationMs * (MIN_LIFETIME_SHARE + (1 - MIN_LIFETIME_SHARE) * random);
}

export class Lifetimes {
  /** Viewers waiting out --increment-delay, oldest first (a Set iterates in insertion order). */
  private readonly pending = new Set<Viewer>();
  /** Viewers subject to --max-conn-duration, by the second (since epoch) they are due to end. */
  private readonly dueBySecond = new Map<number, Set<Viewer>>();
  /** The first second not ended yet. */
  private nextSecond = Math.floor(Date.now() / 1000);
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly hub: Hub,
    private readonly incrementDelayMs: number,
    private readonly maxDurationMs: number,
  ) {}

  start(): void {
    if (this.incrementDelayMs > 0) this.timers.push(setInterval(() => this.countDue(Date.now()), INCREMENT_CHECK_MS));
    if (this.maxDurationMs > 0) this.timers.push(setInterval(() => this.endExpired(Date.now()), DURATION_CHECK_MS));
    // Checked each second, a room silent for 14 s gets the keep-alive: none waits past 15 s, a busy one never gets it.
    this.timers.push(setInterval(() => this.hub.keepAlive(Date.now(), KEEPALIVE_MS - KEEPALIVE_CHECK_MS), KEEPALIVE_CHECK_MS));
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
  }

  /** A new viewer: counted now, or once --increment-delay has passed if it is still there. */
  track(viewer: Viewer): void {
    if (this.incrementDelayMs > 0) this.pending.add(viewer);
    else this.hub.count(viewer);
    if (this.maxDurationMs > 0) this.fileByEnd(viewer);
  }

  forget(viewer: Viewer): void {
    this.pending.delete(viewer);
    if (viewer.endsAtSecond === 0) return;
    const due = this.dueBySecond.get(viewer.endsAtSecond);
    due?.delete(viewer);
    if (due?.size === 0) this.dueBySecond.delete(viewer.endsAtSecond);
    viewer.endsAtSecond = 0;
  }

  private fileByEnd(viewer: Viewer): void {
    // Rounded down, so the check never ends a stream later than its draw on purpose; never in a second
    // already ended, or it would wait forever.
    const second = Math.max(this.nextSecond, Math.floor((viewer.openedAt + drawLifetimeMs(this.maxDurationMs)) / 1000));
    viewer.endsAtSecond = second;
    let due = this.dueBySecond.get(second);
    if (!due) this.dueBySecond.set(second, (due = new Set()));
    due.add(viewer);
  }

  private countDue(now: number): void {
    for (const viewer of this.pending) {
      if (viewer.openedAt + this.incrementDelayMs > now) return;
      this.pending.delete(viewer);
      this.hub.count(viewer);
    }
  }

  /** Ends every second up to `now` (several when the event loop was held up). Run by the timer; tests call it. */
  endExpired(now: number): void {
    const nowSecond = Math.floor(now / 1000);
    if (nowSecond - this.nextSecond > this.dueBySecond.size) {
      // A long gap (the clock jumped ahead): fewer seconds are filed than have passed, so walk those.
      for (const second of [...this.dueBySecond.keys()]) if (second <= nowSecond) this.endSecond(second);
    } else {
      for (let second = this.nextSecond; second <= nowSecond; second++) this.endSecond(second);
    }
    this.nextSecond = Math.max(this.nextSecond, nowSecond + 1);
  }

  private endSecond(second: number): void {
    const due = this.dueBySecond.get(second);
    if (!due) return;
    this.dueBySecond.delete(second);
    for (const viewer of due) {
      // Ending closes the connection; its 'close' handler calls forget(), which finds nothing filed now.
      viewer.endsAtSecond = 0;
      viewer.end('max-duration');
    }
  }
}
