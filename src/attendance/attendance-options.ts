// The attendance log's command-line settings: where the log lives, how much of a viewer's address is kept,
// and the GeoIP file. Parsers throw InvalidOptionValue like the others in src/options.ts.
import { InvalidOptionValue } from '../options.js';

export type AttendanceTarget =
  | { kind: 'off' }
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string };

/** full: as seen; truncated: the /24 (IPv4) or /48 (IPv6) network; none: not stored. */
export const IP_STORAGE_MODES = ['full', 'truncated', 'none'] as const;
export type IpStorage = (typeof IP_STORAGE_MODES)[number];

export const DEFAULT_ATTENDANCE_PATH = './audience-meter.db';

export function parseAttendanceTarget(value: string): AttendanceTarget {
  const trimmed = value.trim();
  if (trimmed === 'off') return { kind: 'off' };
  if (/^postgres(ql)?:\/\//i.test(trimmed)) {
    let url: URL | undefined;
    try {
      url = new URL(trimmed);
    } catch {
      // reported below
    }
    // A socket directory may stand in the query (postgres:///db?host=/run/postgresql), so a host is optional.
    if (!url || (url.host === '' && url.pathname.length <= 1)) throw new InvalidOptionValue('must be a valid postgres://user@host/database URL');
    return { kind: 'postgres', url: trimmed };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    throw new InvalidOptionValue('must be a file path (SQLite), a postgres:// URL, or off');
  }
  if (trimmed === '' || trimmed.includes('\0')) throw new InvalidOptionValue('must be a file path (SQLite), a postgres:// URL, or off');
  return { kind: 'sqlite', path: trimmed };
}

/** --retention-days: whole days, 0 (keep everything) to a hundred years. */
export function parseRetentionDays(value: string): number {
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n > 36_500) throw new InvalidOptionValue('must be a whole number of days from 0 to 36500 (0: keep everything)');
  return n;
}

/** Most events --attendance-queue may hold: some 17 GB at about 175 bytes an event, far past any one node. */
export const MAX_ATTENDANCE_QUEUE = 100_000_000;
/** Fewer than a batch of one busy tick would drop events with the database up. */
export const MIN_ATTENDANCE_QUEUE = 1000;

/** --attendance-queue: 0 (sized from the node, queue-bound.ts) or a whole number of events. */
export function parseAttendanceQueue(value: string): number {
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || (n !== 0 && (n < MIN_ATTENDANCE_QUEUE || n > MAX_ATTENDANCE_QUEUE))) {
    throw new InvalidOptionValue(`must be 0 (sized from the node) or a whole number of events from ${MIN_ATTENDANCE_QUEUE} to ${MAX_ATTENDANCE_QUEUE}`);
  }
  return n;
}

export function parseIpStorage(value: string): IpStorage {
  const mode = IP_STORAGE_MODES.find((m) => m === value.trim());
  if (!mode) throw new InvalidOptionValue(`must be one of ${IP_STORAGE_MODES.join(', ')}`);
  return mode;
}

/** What the log says about where it writes; a PostgreSQL URL loses its password. */
export function describeTarget(target: AttendanceTarget): string {
  switch (target.kind) {
    case 'off':
      return 'off';
    case 'sqlite':
      return `SQLite ${target.path}`;
    case 'postgres': {
      const url = new URL(target.url);
      if (url.password) url.password = '***';
      return `PostgreSQL ${url.toString()}`;
    }
  }
}

/** Workers never write the log: they get the kind but not a URL that may carry a password. */
export function targetForWorkers(target: AttendanceTarget): AttendanceTarget {
  return target.kind === 'postgres' ? { kind: 'postgres', url: '' } : target;
}
