// A worker's part of a drain (--drain-seconds, docs/load-balancers.md): its streams end a share at a time,
// evenly over the window the primary gives, so the viewers reconnect to the other nodes as a steady trickle
// rather than in one wave. Each SSE stream's last frame is a `retry:` field, which makes EventSource come
// back after about a second (jittered per tick) instead of its own default; WebSocket viewers get 1001
// (going away) from the `shutdown` reason. One coarse timer for the worker, as lifetimes.ts does.
import type { Hub } from './hub.js';
import type { Push } from './push.js';

const TICK_MS = 100;
/** Each tick's `retry:` is the primary's value × (1 ± this): viewers ended together do not come back together. */
const RETRY_JITTER = 0.5;

export function retryPush(retryMs: number): Push {
  const frame = Buffer.from(`retry: ${Math.round(retryMs)}\n\n`);
  return { sse: () => frame, ws: () => undefined };
}

export class StreamDrain {
  private timer: NodeJS.Timeout | undefined;
  private endsAt = 0;
  private retryMs = 0;
  /** Streams owed from earlier ticks: each tick's share is fractional and carries over. */
  private owed = 0;

  constructor(private readonly hub: Hub, private readonly now: () => number = Date.now) {}

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Ends every stream open now or opened meanwhile within `windowMs`; a second call is ignored. */
  start(windowMs: number, retryMs: number): void {
    if (this.running) return;
    this.endsAt = this.now() + windowMs;
    this.retryMs = retryMs;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Ends open streams × (tick / time left): with as many streams left as time, the rate stays even over the
   * window, and streams that arrive late (a balancer slow to notice) are spread over what is left of it.
   */
  tick(): void {
    const left = this.endsAt - this.now();
    const open = this.hub.openViewers();
    this.owed = left <= TICK_MS ? open : Math.min(open, this.owed + (open * TICK_MS) / left);
    let ending = Math.floor(this.owed);
    if (ending === 0) return;
    this.owed -= ending;
    const push = retryPush(this.retryMs * (1 + RETRY_JITTER * (2 * Math.random() - 1)));
    for (const viewer of this.hub.viewers()) {
      if (viewer.endedFor !== undefined) continue;
      viewer.send(push);
      viewer.end('shutdown');
      if (--ending === 0) break;
    }
  }
}
