// Sessions expelled by the device limit, remembered on every worker so that the expelled browser's
// automatic reconnection (Last-Event-ID: <its session id>) gets 204 and its EventSource stops, whichever
// worker it reaches. Browsers reconnect within seconds, so the memory is short and bounded both in time and
// in count: an expulsion storm cannot grow it without limit.

/** Long enough for any browser's reconnection delay, backoff included. */
const REMEMBER_MS = 10 * 60_000;
const MAX_REMEMBERED = 50_000;

export class ExpelledSessions {
  /** Session id → when it was expelled (ms); a Map iterates in insertion order, so the oldest come first. */
  private readonly expelledAt = new Map<string, number>();

  constructor(private readonly rememberMs = REMEMBER_MS, private readonly maxRemembered = MAX_REMEMBERED) {}

  add(session: string, now: number): void {
    this.expelledAt.delete(session);
    this.expelledAt.set(session, now);
    this.forgetOld(now);
  }

  has(session: string, now: number): boolean {
    const at = this.expelledAt.get(session);
    return at !== undefined && now - at < this.rememberMs;
  }

  get size(): number {
    return this.expelledAt.size;
  }

  private forgetOld(now: number): void {
    for (const [session, at] of this.expelledAt) {
      if (this.expelledAt.size <= this.maxRemembered && now - at < this.rememberMs) return;
      this.expelledAt.delete(session);
    }
  }
}
