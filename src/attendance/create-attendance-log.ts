// Builds the primary's attendance log from the options: a SQLite file, a PostgreSQL database, or nothing.
import type { Options } from '../options.js';
import { describeTarget, type AttendanceTarget } from './attendance-options.js';
import { NoAttendanceLog, type AttendanceLog } from './attendance-log.js';
import { DatabaseAttendanceLog, type DatabaseLogSettings } from './database-log.js';
import { NO_COUNTRY, openCountryLookup, type CountryLookup } from './geoip.js';
import { openFileLimit } from '../open-file-limit.js';
import { defaultQueueBound } from './queue-bound.js';
import type { SqlDatabase } from './sql-database.js';
import { PostgresDatabase } from './store-postgres.js';
import { SqliteDatabase } from './store-sqlite.js';

type Tuning = Omit<DatabaseLogSettings, 'open' | 'target' | 'facts'>;
type LogOptions = Pick<Options, 'attendance' | 'ipStorage' | 'geoipDb'> & Partial<Pick<Options, 'retentionDays' | 'attendanceHeartbeat' | 'attendanceQueue' | 'workers'>>;

/** A connection to the log's store (SQLite opens its file here and may throw). */
export function openDatabase(target: Exclude<AttendanceTarget, { kind: 'off' }>): SqlDatabase {
  return target.kind === 'sqlite' ? new SqliteDatabase(target.path) : new PostgresDatabase(target.url);
}

/**
 * Throws a one-line reason when the GeoIP file cannot be read; a database that is away is not an error.
 * `node` is a label written with this node's sessions and samples (the daemon passes its node id, as
 * /api/peers shows it); nothing depends on it being unique: crash recovery goes by each run's incarnation.
 * `country`, when given, is the lookup to use instead of opening --geoip-db again (the primary shares the
 * one it reloads on SIGHUP).
 */
export function createAttendanceLog(options: LogOptions & { country?: CountryLookup }, node: string, tuning: Tuning = {}): AttendanceLog {
  const target = options.attendance;
  if (target.kind === 'off') return new NoAttendanceLog();
  const facts = { node, ipStorage: options.ipStorage, country: options.country ?? (options.geoipDb ? openCountryLookup(options.geoipDb) : NO_COUNTRY) };
  const open = () => openDatabase(target);
  const fromOptions: Tuning = {
    retentionDays: options.retentionDays,
    heartbeatMs: options.attendanceHeartbeat === undefined ? undefined : options.attendanceHeartbeat * 1000,
    queueLimit: options.attendanceQueue || defaultQueueBound(options.workers ?? 1, openFileLimit()),
  };
  return new DatabaseAttendanceLog({ open, target: describeTarget(target), facts, ...fromOptions, ...definedOnly(tuning) });
}

/** A tuning left undefined keeps the option's value. */
function definedOnly(tuning: Tuning): Tuning {
  return Object.fromEntries(Object.entries(tuning).filter(([, value]) => value !== undefined));
}
