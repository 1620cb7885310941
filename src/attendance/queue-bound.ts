// How many events the attendance log may hold in memory (--attendance-queue), sized by default from what the
// node can hold: each worker keeps at most its open-file limit of viewers, and each viewer's session makes
// two events (its entry and its exit). So a flash crowd that fills every worker, and leaves again, fits in the
// queue even while the database is slow or away. A fixed 200,000 filled on 24 workers at 400,000 viewers and
// dropped events (issue 12); it stays the floor, so a small node still rides out an outage under churn.
// The open-file limit is read by ../open-file-limit.ts.

/** Events one session puts in the queue: its entry and its exit. */
export const EVENTS_PER_SESSION = 2;
/** The bound before it was sized from the node, kept as the least default. */
export const MIN_DEFAULT_QUEUE = 200_000;

/** The default bound for `workers` processes of `openFiles` descriptors each (undefined when unknown). */
export function defaultQueueBound(workers: number, openFiles: number | undefined): number {
  if (openFiles === undefined) return MIN_DEFAULT_QUEUE;
  return Math.max(MIN_DEFAULT_QUEUE, workers * openFiles * EVENTS_PER_SESSION);
}
