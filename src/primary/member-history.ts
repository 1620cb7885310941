// The last hour of each namespace's member count, in memory, for the admin page's chart when the attendance
// log is off (with the log on, the stored samples serve it). One sample per namespace every few seconds in
// a fixed-size ring, and a namespace's series goes when the namespace does: memory stays bounded by the
// number of live namespaces.

export interface HistorySample {
  /** ms since epoch */
  at: number;
  members: number;
}

export const HISTORY_WINDOW_MS = 3600 * 1000;
export const HISTORY_STEP_MS = 10 * 1000;

class Ring {
  private readonly at: Float64Array;
  private readonly members: Uint32Array;
  private next = 0;
  private length = 0;

  constructor(capacity: number) {
    this.at = new Float64Array(capacity);
    this.members = new Uint32Array(capacity);
  }

  push(at: number, members: number): void {
    this.at[this.next] = at;
    this.members[this.next] = members;
    this.next = (this.next + 1) % this.at.length;
    this.length = Math.min(this.length + 1, this.at.length);
  }

  /** Oldest first. */
  samples(from: number, to: number): HistorySample[] {
    const out: HistorySample[] = [];
    const start = (this.next - this.length + this.at.length) % this.at.length;
    for (let i = 0; i < this.length; i++) {
      const index = (start + i) % this.at.length;
      const at = this.at[index]!;
      if (at >= from && at <= to) out.push({ at, members: this.members[index]! });
    }
    return out;
  }
}

export class MemberHistory {
  private readonly series = new Map<string, Ring>();
  private readonly capacity = Math.ceil(HISTORY_WINDOW_MS / HISTORY_STEP_MS) + 1;

  /** Every live namespace's count at `at`; namespaces absent from `counts` are forgotten. */
  sample(counts: Iterable<readonly [ns: string, members: number]>, at: number): void {
    const seen = new Set<string>();
    for (const [ns, members] of counts) {
      seen.add(ns);
      let ring = this.series.get(ns);
      if (!ring) {
        ring = new Ring(this.capacity);
        this.series.set(ns, ring);
      }
      ring.push(at, members);
    }
    for (const ns of this.series.keys()) if (!seen.has(ns)) this.series.delete(ns);
  }

  samples(ns: string, from: number, to: number): HistorySample[] {
    return this.series.get(ns)?.samples(from, to) ?? [];
  }
}
