// Builds the primary's attendance log from the options: a SQLite file, a PostgreSQL database, or nothing.
import type { Options } from '../options.js';
import { describeTarget } from './attendance-options.js';
import { NoAttendanceLog, type AttendanceLog } from './attendance-log.js';
import { DatabaseAttendanceLog, type DatabaseLogSettings } from './database-log.js';
import { NO_COUNTRY, openCountryLookup, type CountryLookup } from './geoip.js';
import { PostgresDatabase } from './store-postgres.js';
import { SqliteDatabase } from './store-sqlite.js';

type Tuning = Omit<DatabaseLogSettings, 'open' | 'target' | 'facts'>;

/**
 * Throws a one-line reason when the GeoIP file cannot be read; a database that is away is not an error.
 * `country`, when given, is the lookup to use instead of opening --geoip-db again (the primary shares the
 * one it reloads on SIGHUP).
 */
export function createAttendanceLog(options: Pick<Options, 'attendance' | 'ipStorage' | 'geoipDb'> & { country?: CountryLookup }, node: string, tuning: Tuning = {}): AttendanceLog {
  const target = options.attendance;
  if (target.kind === 'off') return new NoAttendanceLog();
  const facts = { node, ipStorage: options.ipStorage, country: options.country ?? (options.geoipDb ? openCountryLookup(options.geoipDb) : NO_COUNTRY) };
  const open = target.kind === 'sqlite' ? () => new SqliteDatabase(target.path) : () => new PostgresDatabase(target.url);
  return new DatabaseAttendanceLog({ open, target: describeTarget(target), facts, ...tuning });
}
