// A process's open-file limit (the soft RLIMIT_NOFILE), which bounds the viewers a worker can hold: the
// worker warns near it (worker/fd-watch.ts) and the attendance log sizes its queue from it
// (attendance/queue-bound.ts). Node has no API for it, and raises the soft limit to the hard one at start,
// so what is read here is that raised figure, the same in the primary and in the workers it forks.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The soft "Max open files" of a /proc/<pid>/limits text; undefined when absent or unlimited. */
export function parseProcLimits(text: string): number | undefined {
  return wholeNumber(/^Max open files\s+(\S+)/m.exec(text)?.[1]);
}

/**
 * Linux: /proc/self/limits. Elsewhere: `ulimit -n` of a shell, which inherits this process's limit.
 * Undefined when neither answers (Windows) or the limit is unlimited.
 */
export function openFileLimit(): number | undefined {
  try {
    return parseProcLimits(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    // no procfs: not Linux
  }
  const shell = spawnSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8', timeout: 2000 });
  return shell.status === 0 ? wholeNumber(shell.stdout.trim()) : undefined;
}

function wholeNumber(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}
