// The per-worker clock for viewers: --increment-delay, --max-conn-duration and keep-alives run on a few
// coarse timers for the whole worker, never one timer per connection. Both delays are the same for every
// viewer, so insertion order is expiry order and each check stops at the first viewer not yet due.
import type { Hub } from './hub.js';
import type { Viewer } from './viewer.js';
import { KEEPALIVE_PUSH } from './push.js';

const INCREMENT_CHECK_MS = 100;
const DURATION_CHECK_MS = 1000;
const KEEPALIVE_MS = 15_000;

export class Lifetimes {
  /** Viewers waiting out --increment-delay, oldest first (a Set iterates in insertion order). */
  private readonly pending = new Set<Viewer>();
  /** Viewers subject to --max-conn-duration, oldest first. */
  private readonly byAge = new Set<Viewer>();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly hub: Hub,
    private readonly incrementDelayMs: number,
    private readonly maxDurationMs: number,
  ) {}

  start(): void {
    if (this.incrementDelayMs > 0) this.timers.push(setInterval(() => this.countDue(Date.now()), INCREMENT_CHECK_MS));
    if (this.maxDurationMs > 0) this.timers.push(setInterval(() => this.endExpired(Date.now()), DURATION_CHECK_MS));
    this.timers.push(setInterval(() => this.hub.broadcastAll(KEEPALIVE_PUSH), KEEPALIVE_MS));
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
  }

  /** A new viewer: counted now, or once --increment-delay has passed if it is still there. */
  track(viewer: Viewer): void {
    if (this.incrementDelayMs > 0) this.pending.add(viewer);
    else this.hub.count(viewer);
    if (this.maxDurationMs > 0) this.byAge.add(viewer);
  }

  forget(viewer: Viewer): void {
    this.pending.delete(viewer);
    this.byAge.delete(viewer);
  }

  private countDue(now: number): void {
    for (const viewer of this.pending) {
      if (viewer.openedAt + this.incrementDelayMs > now) return;
      this.pending.delete(viewer);
      this.hub.count(viewer);
    }
  }

  private endExpired(now: number): void {
    for (const viewer of this.byAge) {
      if (viewer.openedAt + this.maxDurationMs > now) return;
      // Ending closes the response; its 'close' handler forgets it. Delete now so the loop moves on.
      this.byAge.delete(viewer);
      viewer.end('max-duration');
    }
  }
}
