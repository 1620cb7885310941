// Messages between the load coordinator (swarm-fleet.ts) and its swarm child processes (sse-swarm),
// plus the small latency histogram they exchange. Everything here is JSON-serialisable so it can
// cross the default `child_process.fork` IPC channel.

/** Wall-clock time in milliseconds with sub-millisecond resolution, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** True for an IPv4 address inside 127.0.0.0/8. Load is only ever sent to loopback. */
export function isLoopbackV4(address: string): boolean {
  const parts = address.split('.');
  if (parts.length !== 4 || parts[0] !== '127') return false;
  return parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

export interface SwarmTotals {
  /** Sockets created so far. */
  opened: number;
  /** Sockets whose TCP connect completed. */
  connected: number;
  /** Sockets that received the HTTP status line and headers (any status). */
  responded: number;
  /** Sockets that received a first message (a `data:` line after a 200, a WebSocket message after a 101). */
  firstEvent: number;
  /** Sockets currently open with an accepted stream (200, or 101 for WebSocket). */
  alive: number;
  /** Socket errors (connect refused, reset, …). */
  errors: number;
  /** Streams the server ended (FIN or reset) while we still wanted them. */
  closedByPeer: number;
  /** Responses whose status was not the accepting one (200; 101 for WebSocket). */
  badStatus: number;
  errorCodes: Record<string, number>;
  statusCodes: Record<string, number>;
  /** Number of messages (`data:` lines, WebSocket messages) received over all sockets. */
  dataLines: number;
  /** Number of keep-alives (SSE comment lines `:`, WebSocket pings) received over all sockets. */
  comments: number;
}

export interface NamespaceCounts {
  /** Live sockets of this namespace in this swarm. */
  sockets: number;
  /** Smallest and largest last count seen on those sockets (-1 when none seen). */
  min: number;
  max: number;
  /** Sockets whose last count equals `expect`. */
  matching: number;
}

/** Sparse log-bucket histogram of durations in milliseconds, about 1 % relative precision. */
export interface Hist {
  count: number;
  min: number;
  max: number;
  sum: number;
  /** [bucket index, count] pairs. */
  buckets: Array<[number, number]>;
}

/**
 * When things happened in one swarm (epoch ms, NaN when it never happened) and how long each step took
 * from the socket's creation: the accept-rate and flash-crowd scenarios are built on these.
 */
export interface SwarmTimings {
  firstOpenAt: number;
  lastOpenAt: number;
  lastConnectAt: number;
  lastHeadAt: number;
  lastFirstEventAt: number;
  /** Socket created → TCP connected, ms. */
  connect: Hist;
  /** Socket created → first message, ms. */
  firstEvent: Hist;
  /** First events per 10 ms slot: [Math.floor(epoch ms / 10), count] (none when churning). */
  timeline: Array<[number, number]>;
}

export type ParentMessage =
  | { type: 'arm'; probe: string; payload: string }
  | { type: 'timings' }
  | { type: 'go'; probe: string; t0: number; timeoutMs: number }
  | { type: 'counts'; expect: Record<string, number> }
  | { type: 'stop' };

export type ChildMessage =
  | { type: 'progress'; totals: SwarmTotals }
  | { type: 'armed'; probe: string }
  | { type: 'probe-result'; probe: string; expected: number; received: number; hist: Hist }
  | { type: 'counts'; perNamespace: Record<string, NamespaceCounts> }
  | { type: 'timings'; timings: SwarmTimings }
  /** `at`: when the swarm had closed every socket (epoch ms). */
  | { type: 'stopped'; totals: SwarmTotals; at: number };

const LOG_BASE = Math.log(1.01);

function bucketOf(ms: number): number {
  const us = Math.max(1, Math.round(ms * 1000));
  return Math.floor(Math.log(us) / LOG_BASE);
}

function bucketValue(b: number): number {
  // Geometric middle of the bucket, back in milliseconds.
  return Math.exp((b + 0.5) * LOG_BASE) / 1000;
}

export function histFrom(values: ArrayLike<number>): Hist {
  const map = new Map<number, number>();
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = Math.max(0, values[i]);
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    const b = bucketOf(v);
    map.set(b, (map.get(b) ?? 0) + 1);
  }
  if (values.length === 0) return { count: 0, min: 0, max: 0, sum: 0, buckets: [] };
  return { count: values.length, min, max, sum, buckets: [...map.entries()] };
}

/** Builds a Hist one value at a time, for series too long to keep (connect/disconnect churn). */
export class HistBuilder {
  private readonly map = new Map<number, number>();
  private count = 0;
  private min = Infinity;
  private max = -Infinity;
  private sum = 0;

  add(ms: number): void {
    const v = Math.max(0, ms);
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    const b = bucketOf(v);
    this.map.set(b, (this.map.get(b) ?? 0) + 1);
  }

  hist(): Hist {
    if (this.count === 0) return { count: 0, min: 0, max: 0, sum: 0, buckets: [] };
    return { count: this.count, min: this.min, max: this.max, sum: this.sum, buckets: [...this.map.entries()] };
  }
}

export function histMerge(hists: Hist[]): Hist {
  const map = new Map<number, number>();
  let count = 0;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const h of hists) {
    if (h.count === 0) continue;
    count += h.count;
    sum += h.sum;
    if (h.min < min) min = h.min;
    if (h.max > max) max = h.max;
    for (const [b, n] of h.buckets) map.set(b, (map.get(b) ?? 0) + n);
  }
  if (count === 0) return { count: 0, min: 0, max: 0, sum: 0, buckets: [] };
  return { count, min, max, sum, buckets: [...map.entries()] };
}

/** Percentile (0–100) of a histogram; exact at 0 and 100, about 1 % precise in between. */
export function histPercentile(h: Hist, p: number): number {
  if (h.count === 0) return NaN;
  if (p <= 0) return h.min;
  if (p >= 100) return h.max;
  const rank = Math.ceil((p / 100) * h.count);
  const sorted = [...h.buckets].sort((a, b) => a[0] - b[0]);
  let seen = 0;
  for (const [b, n] of sorted) {
    seen += n;
    if (seen >= rank) return Math.min(h.max, Math.max(h.min, bucketValue(b)));
  }
  return h.max;
}

export function emptyTotals(): SwarmTotals {
  return {
    opened: 0,
    connected: 0,
    responded: 0,
    firstEvent: 0,
    alive: 0,
    errors: 0,
    closedByPeer: 0,
    badStatus: 0,
    errorCodes: {},
    statusCodes: {},
    dataLines: 0,
    comments: 0,
  };
}

export function addTotals(into: SwarmTotals, t: SwarmTotals): SwarmTotals {
  into.opened += t.opened;
  into.connected += t.connected;
  into.responded += t.responded;
  into.firstEvent += t.firstEvent;
  into.alive += t.alive;
  into.errors += t.errors;
  into.closedByPeer += t.closedByPeer;
  into.badStatus += t.badStatus;
  into.dataLines += t.dataLines;
  into.comments += t.comments;
  for (const [k, v] of Object.entries(t.errorCodes)) into.errorCodes[k] = (into.errorCodes[k] ?? 0) + v;
  for (const [k, v] of Object.entries(t.statusCodes)) into.statusCodes[k] = (into.statusCodes[k] ?? 0) + v;
  return into;
}
