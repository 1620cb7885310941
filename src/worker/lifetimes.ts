// The per-worker clock for viewers: --increment-delay, --max-conn-duration and keep-alives run on a few
// coarse timers for the whole worker, never one timer per connection. The increment delay is the same for
// every viewer, so insertion order is its expiry order and each check stops at the first viewer not yet due.
// Maximum durations are drawn per connection (see `drawLifetimeMs`): a viewer carries the second it is due,
// and the check each second walks the worker's viewers and ends those whose second has come. A walk costs a
// comparison per viewer per second, which is cheaper than filing each connection as it opens and closes
// (a set entry per viewer, made and deleted per connection; BENCHMARKS.md, issue 12).
import type { Hub } from './hub.js';
import type { Viewer } from './viewer.js';

const INCREMENT_CHECK_MS = 100;
/** The once-a-second check: maximum durations and keep-alives. */
const SECOND_MS = 1000;
/** No SSE stream goes longer than this without a byte (proxies' idle timeouts are set above it: docs/proxies.md). */
export const KEEPALIVE_MS = 15_000;
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
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly hub: Hub,
    private readonly incrementDelayMs: number,
    private readonly maxDurationMs: number,
  ) {}

  start(): void {
    if (this.incrementDelayMs > 0) this.timers.push(setInterval(() => this.countDue(Date.now()), INCREMENT_CHECK_MS));
    this.timers.push(setInterval(() => {
      const now = Date.now();
      if (this.maxDurationMs > 0) this.endExpired(now);
      // Checked each second, a room silent for 14 s gets the keep-alive: none waits past 15 s, a busy one never gets it.
      this.hub.keepAlive(now, KEEPALIVE_MS - SECOND_MS);
    }, SECOND_MS));
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
    viewer.endsAtSecond = 0;
  }

  private fileByEnd(viewer: Viewer): void {
    // Rounded down, so the check never ends a stream later than its draw on purpose (and never 0, "no end").
    viewer.endsAtSecond = Math.max(1, Math.floor((viewer.openedAt + drawLifetimeMs(this.maxDurationMs)) / 1000));
  }

  private countDue(now: number): void {
    for (const viewer of this.pending) {
      if (viewer.openedAt + this.incrementDelayMs > now) return;
      this.pending.delete(viewer);
      this.hub.count(viewer);
    }
  }

  /** Ends every viewer whose second has come by `now` (however far the clock jumped). Run by the timer; tests call it. */
  endExpired(now: number): void {
    const nowSecond = Math.floor(now / 1000);
    this.hub.forEachViewer((viewer) => {
      if (viewer.endsAtSecond === 0 || viewer.endsAtSecond > nowSecond) return;
      // Ending closes the connection; its 'close' handler calls forget() later.
      viewer.endsAtSecond = 0;
      viewer.end('max-duration');
    });
  }
}
