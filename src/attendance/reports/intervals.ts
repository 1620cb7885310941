// Arithmetic on sessions as time intervals [entry, exit) in ms: attended time with overlaps merged (two
// devices at once are not double time), the peak of concurrent sessions, and session lengths.

export interface Interval {
  start: number;
  end: number;
}

/** Total time covered by the intervals, each instant counted once. */
export function coveredMs(intervals: readonly Interval[]): number {
  const sorted = [...intervals].filter((i) => i.end > i.start).sort((a, b) => a.start - b.start);
  let total = 0;
  let runStart = -Infinity;
  let runEnd = -Infinity;
  for (const { start, end } of sorted) {
    if (start > runEnd) {
      if (runEnd > runStart) total += runEnd - runStart;
      runStart = start;
      runEnd = end;
    } else if (end > runEnd) {
      runEnd = end;
    }
  }
  if (runEnd > runStart) total += runEnd - runStart;
  return total;
}

/** The most intervals open at one instant, and the first instant it was reached. An end at t closes before a start at t opens. */
export function peakConcurrent(intervals: readonly Interval[]): { count: number; at: number | null } {
  const edges: [number, number][] = [];
  for (const { start, end } of intervals) {
    if (end <= start) continue;
    edges.push([start, 1], [end, -1]);
  }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let peak = { count: 0, at: null as number | null };
  for (const [at, delta] of edges) {
    open += delta;
    if (open > peak.count) peak = { count: open, at };
  }
  return peak;
}

/** Session-length buckets, in seconds: lower bound inclusive, upper exclusive. */
export const LENGTH_BUCKETS: readonly { label: string; min: number; max: number }[] = [
  { label: '<1m', min: 0, max: 60 },
  { label: '1-5m', min: 60, max: 300 },
  { label: '5-15m', min: 300, max: 900 },
  { label: '15-30m', min: 900, max: 1800 },
  { label: '30-60m', min: 1800, max: 3600 },
  { label: '1-2h', min: 3600, max: 7200 },
  { label: '>=2h', min: 7200, max: Infinity },
];

export function lengthHistogram(intervals: readonly Interval[]): { bucket: string; sessions: number }[] {
  const counts = LENGTH_BUCKETS.map(() => 0);
  for (const { start, end } of intervals) {
    const seconds = Math.max(0, end - start) / 1000;
    const index = LENGTH_BUCKETS.findIndex((b) => seconds >= b.min && seconds < b.max);
    counts[index]!++;
  }
  return LENGTH_BUCKETS.map((b, i) => ({ bucket: b.label, sessions: counts[i]! }));
}
