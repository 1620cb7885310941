// Which collection V8 runs in the primary when its young generation is full: a young-generation one while the
// primary is busy, a full one once it has been idle for a few seconds. The primary never starts a collection;
// V8 still collects when it decides to, and this only picks the kind.
//
// Why: a burst (a flood of namespaces, a flash crowd) leaves garbage in the old generation, and V8 frees it
// only at a full collection, which it starts when the old generation reaches its limit (at least 8 MB above
// the live size) or when its memory reducer runs, and the reducer runs again only after a full collection
// that finds the old generation 10 MB above where its last run left it. An idle primary allocates little, so
// neither comes, and it kept 12–16 MB of a flood's garbage for good at every other flood (BENCHMARKS.md,
// namespace floods). Full collections all the time free it, but cost the primary 3.3 times its CPU per join
// (19 → 62 µs) during a crowd. Idle, what the primary still allocates (the sweep that deletes a flood's
// namespaces, stats reads, metrics scrapes) fills its 1 MB young generation sooner or later, and that
// collection, a full one of the primary's small heap, costs a few milliseconds and takes the garbage.
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';

/**
 * The primary is idle over an interval its event loop was busy for less than this share of, and no worker
 * reported: an operator's scripts reading the stats port or /metrics every second leave it idle.
 */
export const IDLE_UTILIZATION = 0.2;
/** How often the primary's load is read, ms (a worker's report makes collections young at once: busy()). */
export const CHECK_INTERVAL_MS = 500;
/** Idle intervals in a row (2 s) before collections are full ones: the tail of a burst is not idle yet. */
export const IDLE_INTERVALS = 4;

export interface PolicyDeps {
  /** The event loop's busy share since the previous call (0 to 1). */
  utilization: () => number;
  /** Makes V8's collections full ones (true) or back to young-generation ones (false). */
  collectFully: (full: boolean) => void;
}

/** Reads node's event loop utilization since the previous read. */
export function eventLoopUtilization(): () => number {
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const share = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    return share;
  };
}

/** V8's own switch: `--gc-global` makes every collection it starts a full one. Read at each collection. */
export function v8CollectFully(full: boolean): void {
  setFlagsFromString(full ? '--gc-global' : '--no-gc-global');
}

export class CollectorPolicy {
  private idleIntervals = 0;
  private full = false;

  constructor(private readonly deps: PolicyDeps = { utilization: eventLoopUtilization(), collectFully: v8CollectFully }) {}

  /** Whether V8's collections are full ones now. */
  get collectsFully(): boolean {
    return this.full;
  }

  /** Reads the load every CHECK_INTERVAL_MS for as long as the primary runs (unref'd: it never keeps it alive). */
  start(): void {
    setInterval(() => this.check(), CHECK_INTERVAL_MS).unref();
  }

  /** One interval's reading: idle long enough → full collections; busy → young ones. */
  check(): void {
    this.idleIntervals = this.deps.utilization() < IDLE_UTILIZATION ? this.idleIntervals + 1 : 0;
    this.use(this.idleIntervals >= IDLE_INTERVALS);
  }

  /**
   * Work came (a worker's report): young-generation collections from now on, without waiting for the next
   * reading, so a crowd that arrives at an idle primary does not start under full ones. One comparison when
   * they are young already.
   */
  busy(): void {
    this.idleIntervals = 0;
    if (this.full) this.use(false);
  }

  private use(full: boolean): void {
    if (full === this.full) return;
    this.full = full;
    this.deps.collectFully(full);
  }
}
