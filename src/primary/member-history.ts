// The last hour of each namespace's member count, in memory, for the admin page's chart when the attendance
// log is off (with the log on, the stored samples serve it). Every live namespace is sampled at the same
// instants, every few seconds, so the instants are kept once for all (a ring of the last hour's), and a
// namespace keeps only its changes: the sample from which its count took each value. A namespace that
// lived a minute with one viewer costs two small entries, not an hour-long ring (a flood of 50,000 such
// namespaces once held 200 MB of rings in the primary), and its series goes when the namespace does. A
// series starts at the first sample that finds a viewer: a namespace sampled only empty has none.
// Memory stays bounded by the live namespaces and by how often their counts change within the hour.

import type { MemberCounts } from '../attendance/attendance-log.js';

export interface HistorySample {
  /** ms since epoch */
  at: number;
  members: number;
}

export const HISTORY_WINDOW_MS = 3600 * 1000;
export const HISTORY_STEP_MS = 10 * 1000;

/** One namespace's count as changes: from sample `since[i]` on (until `since[i + 1]`), it was `members[i]`. */
interface Series {
  since: number[];
  members: number[];
  /** The last sample this namespace was in: one it missed means it is gone. */
  seenAt: number;
}

export class MemberHistory {
  /** Samples kept: the last hour's, and the one that starts it. */
  private readonly capacity = Math.ceil(HISTORY_WINDOW_MS / HISTORY_STEP_MS) + 1;
  /** When sample n was taken is times[n % capacity], for the last `capacity` samples. */
  private readonly times = new Float64Array(this.capacity);
  /** Samples taken so far; the next one is number `taken`. */
  private taken = 0;
  private readonly series = new Map<string, Series>();

  /** Every live namespace's count at `at`; namespaces absent from `counts` are forgotten. */
  sample(counts: MemberCounts, at: number): void {
    const n = this.taken++;
    this.times[n % this.capacity] = at;
    const oldest = n - this.capacity + 1;
    counts.forEach(({ name: ns, members }) => {
      const series = this.series.get(ns);
      if (!series) {
        // Nothing to chart before its first viewer: an empty namespace (a flood's, awaiting the clean delay)
        // gets no series, so it costs nothing here and its name is not kept past its deletion.
        if (members > 0) this.series.set(ns, { since: [n], members: [members], seenAt: n });
        return;
      }
      series.seenAt = n;
      if (series.members.at(-1) !== members) {
        series.since.push(n);
        series.members.push(members);
      }
      // A change is needed while the next one starts inside the window.
      let drop = 0;
      while (drop + 1 < series.since.length && series.since[drop + 1]! <= oldest) drop++;
      if (drop > 0) {
        series.since.splice(0, drop);
        series.members.splice(0, drop);
      }
    });
    // forEach, not for…of over entries: no [key, value] pair allocated per namespace at every sample.
    this.series.forEach((series, ns) => {
      if (series.seenAt !== n) this.series.delete(ns);
    });
  }

  /** Oldest first. */
  samples(ns: string, from: number, to: number): HistorySample[] {
    const series = this.series.get(ns);
    if (!series) return [];
    const out: HistorySample[] = [];
    let change = 0;
    for (let n = Math.max(series.since[0]!, this.taken - this.capacity); n < this.taken; n++) {
      while (change + 1 < series.since.length && series.since[change + 1]! <= n) change++;
      const at = this.times[n % this.capacity]!;
      if (at >= from && at <= to) out.push({ at, members: series.members[change]! });
    }
    return out;
  }
}
