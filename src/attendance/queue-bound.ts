// How many events the attendance log may hold in memory (--attendance-queue), sized by default from what the
// node can hold: each worker keeps at most its open-file limit of viewers, and each viewer's session makes
// two events (its entry and its exit). So a flash crowd that fills every worker, and leaves again, fits in the
// queue even while the database is slow or away. A fixed 200,000 filled on 24 workers at 400,000 viewers and
// dropped events (issue 12); it stays the floor, so a small node still rides out an outage under churn.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Events one session puts in the queue: its entry and its exit. */
export const EVENTS_PER_SESSION = 2;
/** The bound before it was sized from the node, kept as the least default. */
export const MIN_DEFAULT_QUEUE = 200_000;

/** The default bound for `workers` processes of `openFiles` descriptors each (undefined when unknown). */
export function defaultQueueBound(workers: number, openFiles: number | undefined): number {
  if (openFiles === undefined) return MIN_DEFAULT_QUEUE;
  return Math.max(MIN_DEFAULT_QUEUE, workers * openFiles * EVENTS_PER_SESSION);
}

/** The soft "Max open files" of a /proc/<pid>/limits text; undefined when absent or unlimited. */
export function parseProcLimits(text: string): number | undefined {
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  return wholeNumber(soft);
}

/**
 * This process's open-file limit (the soft RLIMIT_NOFILE), which the workers inherit; Node has no API for it.
 * Node raises the soft limit to the hard one at start, so this is the raised figure. Linux: /proc/self/limits;
 * elsewhere: `ulimit -n` of a shell, which inherits the same limit; undefined when neither answers (Windows).
 */
export function openFileLimit(): number | undefined {
  try {
    return parseProcLimits(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    // no procfs: not Linux
  }
  try {
    const shell = spawnSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8', timeout: 2000 });
    return shell.status === 0 ? wholeNumber(shell.stdout.trim()) : undefined;
  } catch {
    return undefined;
  }
}

function wholeNumber(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}
