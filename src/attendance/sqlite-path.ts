// Where a SQLite attendance log lives, settled once at start: resolved against the directory the daemon
// started in (under systemd that is `/`, so a relative path would land somewhere surprising) and checked
// writable now. A mistyped or read-only path stops the start with one line, instead of events piling up in
// memory while the operator believes they are kept. A database that goes away later is the log's business:
// it keeps counting and retries (database-log.ts).
import { accessSync, closeSync, constants, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { AttendanceTarget } from './attendance-options.js';

export class AttendancePathError extends Error {
  readonly code = 'AUDIENCE_METER_ATTENDANCE_PATH';
}

const WHY: Record<string, string> = {
  ENOENT: 'its directory does not exist',
  ENOTDIR: 'a part of the path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  EISDIR: 'it is a directory',
};

/** The same target with an absolute SQLite path; throws an AttendancePathError when it cannot be written. */
export function settleAttendanceTarget(target: AttendanceTarget, cwd: string = process.cwd()): AttendanceTarget {
  if (target.kind !== 'sqlite') return target;
  const path = resolve(cwd, target.path);
  const fail = (error: unknown): never => {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new AttendancePathError(`option --attendance: cannot write ${path}: ${WHY[code] ?? code}; create its directory, fix its permissions or pick another path (or off)`);
  };
  try {
    // Creates an absent file (SQLite takes an empty file as a new database) and proves the file is writable.
    closeSync(openSync(path, 'a'));
    if (!statSync(path).isFile()) fail({ code: 'EISDIR' });
    // WAL mode writes its -wal and -shm files beside the database.
    accessSync(dirname(path), constants.W_OK);
  } catch (error) {
    if (error instanceof AttendancePathError) throw error;
    fail(error);
  }
  return { kind: 'sqlite', path };
}
