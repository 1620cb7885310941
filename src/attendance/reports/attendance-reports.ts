// The reports of the admin API, read from the log with SQL shared by both stores. Times are ISO 8601 (UTC);
// a session still open counts up to `now`, but never past its last sign of life plus its run's grace: the
// sessions of a run that died and that no node has closed yet stop counting when it would have been
// given up. Merging overlaps and finding the peak is done here rather than in SQL, where the two dialects
// would need two versions.
import { INCARNATIONS, SAMPLES, SESSIONS } from '../schema.js';
import { ms, num, text, type Row, type SqlDatabase } from '../sql-database.js';
import { coveredMs, lengthHistogram, peakConcurrent, type Interval } from './intervals.js';

export interface UserAttendance {
  user: string;
  name: string | null;
  sessions: number;
  first_entry: string;
  /** null while one of the user's sessions is still open */
  last_exit: string | null;
  /** overlapping sessions merged */
  seconds_attended: number;
  /** distinct "device / OS / browser" combinations */
  devices: string[];
}

export interface SessionReport {
  session: string;
  entry: string;
  exit: string | null;
  exit_reason: string | null;
  seconds: number;
  page: string | null;
  browser: string | null;
  os: string | null;
  device: string | null;
  country: string | null;
  ip: string | null;
  node: string;
}

export interface Breakdown {
  namespace: string;
  sessions: number;
  unique_users: number;
  anonymous_sessions: number;
  peak_concurrent_viewers: number;
  peak_at: string | null;
  by_browser: Tally[];
  by_os: Tally[];
  by_device: Tally[];
  by_country: Tally[];
  session_length: { bucket: string; sessions: number }[];
}

export interface Tally {
  value: string | null;
  sessions: number;
}

export interface SampleReport {
  at: string;
  members: number;
  node: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const seconds = (ms: number): number => Math.round(ms / 1000);

/**
 * Sessions with, for an open one, the time its run stops vouching for it (`alive_until`); the join is on
 * the incarnation's primary key.
 */
const SESSIONS_WITH_LIFE = `${SESSIONS} AS s LEFT JOIN ${INCARNATIONS} AS i ON i.incarnation = s.incarnation`;
const ALIVE_UNTIL = 'CASE WHEN s.last_seen > i.last_seen THEN s.last_seen ELSE i.last_seen END + i.grace AS alive_until';

function interval(row: Row, now: number): Interval {
  const start = ms(row.entry_at);
  if (row.exit_at !== null && row.exit_at !== undefined) return { start, end: ms(row.exit_at) };
  const aliveUntil = row.alive_until === null || row.alive_until === undefined ? now : ms(row.alive_until);
  return { start, end: Math.max(start, Math.min(now, aliveUntil)) };
}

function deviceLabel(row: Row): string {
  return [row.device ?? 'unknown', row.os ?? 'unknown OS', row.browser ?? 'unknown browser'].join(' / ');
}

/** The name from the user's latest token that carried one. */
function lastName(rows: readonly Row[]): string | null {
  for (let i = rows.length - 1; i >= 0; i--) if (rows[i]!.user_name !== null) return text(rows[i]!.user_name);
  return null;
}

const BREAKDOWN_COLUMNS = { by_browser: 'browser', by_os: 'os', by_device: 'device', by_country: 'country' } as const;

export class AttendanceReports {
  /** `database` throws while the log is unreachable; the admin API answers 503 with its message. */
  constructor(private readonly database: () => Promise<SqlDatabase>) {}

  async namespaceAttendance(ns: string, now = Date.now()): Promise<UserAttendance[]> {
    const rows = await (await this.database()).all(
      `SELECT user_id, user_name, entry_at, exit_at, ${ALIVE_UNTIL}, device, os, browser FROM ${SESSIONS_WITH_LIFE}
       WHERE ns = ? AND user_id IS NOT NULL ORDER BY user_id, entry_at`, [ns]);
    const byUser = new Map<string, Row[]>();
    for (const row of rows) {
      const user = String(row.user_id);
      let list = byUser.get(user);
      if (!list) byUser.set(user, (list = []));
      list.push(row);
    }
    return [...byUser].map(([user, sessions]) => {
      const intervals = sessions.map((row) => interval(row, now));
      const open = sessions.some((row) => row.exit_at === null);
      return {
        user,
        name: lastName(sessions),
        sessions: sessions.length,
        first_entry: iso(Math.min(...intervals.map((i) => i.start))),
        last_exit: open ? null : iso(Math.max(...intervals.map((i) => i.end))),
        seconds_attended: seconds(coveredMs(intervals)),
        devices: [...new Set(sessions.map(deviceLabel))].sort(),
      };
    });
  }

  async userAttendance(ns: string, user: string, now = Date.now()): Promise<{ name: string | null; sessions: SessionReport[]; seconds_attended: number }> {
    const rows = await (await this.database()).all(
      `SELECT session, user_name, entry_at, exit_at, ${ALIVE_UNTIL}, exit_reason, page, browser, os, device, country, ip, s.node AS node
       FROM ${SESSIONS_WITH_LIFE} WHERE ns = ? AND user_id = ? ORDER BY entry_at, session`, [ns, user]);
    const intervals = rows.map((row) => interval(row, now));
    return {
      name: lastName(rows),
      sessions: rows.map((row, i) => ({
        session: String(row.session),
        entry: iso(intervals[i]!.start),
        exit: row.exit_at === null ? null : iso(intervals[i]!.end),
        exit_reason: text(row.exit_reason),
        seconds: seconds(intervals[i]!.end - intervals[i]!.start),
        page: text(row.page),
        browser: text(row.browser),
        os: text(row.os),
        device: text(row.device),
        country: text(row.country),
        ip: text(row.ip),
        node: String(row.node),
      })),
      seconds_attended: seconds(coveredMs(intervals)),
    };
  }

  async breakdown(ns: string, now = Date.now()): Promise<Breakdown> {
    const db = await this.database();
    const rows = await db.all(`SELECT entry_at, exit_at, ${ALIVE_UNTIL} FROM ${SESSIONS_WITH_LIFE} WHERE ns = ?`, [ns]);
    const intervals = rows.map((row) => interval(row, now));
    const [counts] = await db.all(
      `SELECT COUNT(DISTINCT user_id) AS users, SUM(CASE WHEN user_id IS NULL THEN 1 ELSE 0 END) AS anonymous FROM ${SESSIONS} WHERE ns = ?`, [ns]);
    const peak = peakConcurrent(intervals);
    const tallies = {} as Record<keyof typeof BREAKDOWN_COLUMNS, Tally[]>;
    for (const [key, column] of Object.entries(BREAKDOWN_COLUMNS) as [keyof typeof BREAKDOWN_COLUMNS, string][]) {
      // `column` comes from the fixed table above, never from the request.
      const groups = await db.all(`SELECT ${column} AS value, COUNT(*) AS sessions FROM ${SESSIONS} WHERE ns = ? GROUP BY ${column}`, [ns]);
      tallies[key] = groups
        .map((g) => ({ value: text(g.value), sessions: num(g.sessions) }))
        .sort((a, b) => b.sessions - a.sessions || String(a.value ?? '').localeCompare(String(b.value ?? '')));
    }
    return {
      namespace: ns,
      sessions: rows.length,
      unique_users: num(counts?.users ?? 0),
      anonymous_sessions: num(counts?.anonymous ?? 0),
      peak_concurrent_viewers: peak.count,
      peak_at: peak.at === null ? null : iso(peak.at),
      ...tallies,
      session_length: lengthHistogram(intervals),
    };
  }

  /** Samples with from <= at < to, oldest first, at most `limit`. */
  async history(ns: string, from: number, to: number, limit: number): Promise<SampleReport[]> {
    const rows = await (await this.database()).all(
      `SELECT at, members, node FROM ${SAMPLES} WHERE ns = ? AND at >= ? AND at < ? ORDER BY at, node LIMIT ?`, [ns, new Date(from), new Date(to), limit]);
    return rows.map((row) => ({ at: iso(ms(row.at)), members: num(row.members), node: String(row.node) }));
  }
}
