// The attendance reports under /api/ (JSON, or CSV with ?format=csv). A namespace or user with no sessions
// gets an empty report (200), not 404: the log cannot tell "never existed" from "nobody came yet".
import type { ServerResponse } from 'node:http';
import { answer } from './answer.js';
import type { AttendanceReports } from '../../attendance/reports/attendance-reports.js';
import { formatParam, namespaceParam, timeParam, userParam, type Parsed } from './report-params.js';
import { sendCsv, sendJson, type CsvValue } from './respond.js';
import type { Route, RouteContext } from './server.js';

const HISTORY_DEFAULT_MS = 24 * 3600 * 1000;
const HISTORY_MAX_ROWS = 100_000;

type Handler = (reports: AttendanceReports, context: RouteContext) => Promise<void>;

/** Runs a report, answering 404 when the log is off, 400 for bad values, 503 when the database is away. */
function report(reports: AttendanceReports | undefined, handler: Handler): Route['handle'] {
  return async (context) => {
    if (!reports) return answer(context.res, 404, 'the attendance log is off (--attendance off)');
    try {
      await handler(reports, context);
    } catch (error) {
      if (error instanceof BadValue) return answer(context.res, 400, error.message);
      answer(context.res, 503, `attendance log unavailable: ${(error as Error).message.split('\n')[0]}`);
    }
  };
}

class BadValue extends Error {}

function valid<T>(parsed: Parsed<T>): T {
  if (!parsed.ok) throw new BadValue(parsed.reason);
  return parsed.value;
}

function isCsv(context: RouteContext): boolean {
  return valid(formatParam(context.query)) === 'csv';
}

function csv(res: ServerResponse, name: string, columns: string[], rows: CsvValue[][]): void {
  sendCsv(res, `${name}.csv`, columns, rows);
}

export function attendanceRoutes(reports: AttendanceReports | undefined): Route[] {
  return [
    {
      pattern: ['api', 'attendance', ':ns'],
      handle: report(reports, async (log, context) => {
        const ns = valid(namespaceParam(context.params.ns!));
        const wantCsv = isCsv(context);
        const users = await log.namespaceAttendance(ns);
        if (!wantCsv) return sendJson(context.res, { namespace: ns, users });
        csv(context.res, `attendance-${ns}`, ['user', 'name', 'sessions', 'first_entry', 'last_exit', 'seconds_attended', 'devices'],
          users.map((u) => [u.user, u.name, u.sessions, u.first_entry, u.last_exit, u.seconds_attended, u.devices.join('; ')]));
      }),
    },
    {
      pattern: ['api', 'attendance', ':ns', ':user'],
      handle: report(reports, async (log, context) => {
        const ns = valid(namespaceParam(context.params.ns!));
        const user = valid(userParam(context.params.user!));
        const wantCsv = isCsv(context);
        const found = await log.userAttendance(ns, user);
        if (!wantCsv) return sendJson(context.res, { namespace: ns, user, ...found, session_count: found.sessions.length });
        // One row per session, then a `total` row whose seconds are the merged attended time.
        const columns = ['row', 'session', 'entry', 'exit', 'exit_reason', 'seconds', 'page', 'browser', 'os', 'device', 'country', 'ip', 'node'];
        const rows: CsvValue[][] = found.sessions.map((s) => ['session', s.session, s.entry, s.exit, s.exit_reason, s.seconds, s.page, s.browser, s.os, s.device, s.country, s.ip, s.node]);
        rows.push(['total', null, null, null, null, found.seconds_attended, null, null, null, null, null, null, null]);
        csv(context.res, `attendance-${ns}-${user}`, columns, rows);
      }),
    },
    {
      pattern: ['api', 'namespaces', ':ns', 'breakdown'],
      handle: report(reports, async (log, context) => {
        const ns = valid(namespaceParam(context.params.ns!));
        const wantCsv = isCsv(context);
        const b = await log.breakdown(ns);
        if (!wantCsv) return sendJson(context.res, b);
        const rows: CsvValue[][] = [
          ['total', 'sessions', b.sessions],
          ['total', 'unique_users', b.unique_users],
          ['total', 'anonymous_sessions', b.anonymous_sessions],
          ['total', 'peak_concurrent_viewers', b.peak_concurrent_viewers],
        ];
        for (const dimension of ['by_browser', 'by_os', 'by_device', 'by_country'] as const) {
          for (const t of b[dimension]) rows.push([dimension.slice(3), t.value, t.sessions]);
        }
        for (const h of b.session_length) rows.push(['session_length', h.bucket, h.sessions]);
        csv(context.res, `breakdown-${ns}`, ['dimension', 'value', 'count'], rows);
      }),
    },
    {
      pattern: ['api', 'namespaces', ':ns', 'history'],
      handle: report(reports, async (log, context) => {
        const ns = valid(namespaceParam(context.params.ns!));
        const wantCsv = isCsv(context);
        const now = Date.now();
        const to = valid(timeParam(context.query, 'to', now));
        const from = valid(timeParam(context.query, 'from', to - HISTORY_DEFAULT_MS));
        if (from > to) throw new BadValue('from must not be after to');
        const samples = await log.history(ns, from, to, HISTORY_MAX_ROWS);
        if (!wantCsv) return sendJson(context.res, { namespace: ns, from: new Date(from).toISOString(), to: new Date(to).toISOString(), samples });
        csv(context.res, `history-${ns}`, ['at', 'members', 'node'], samples.map((s) => [s.at, s.members, s.node]));
      }),
    },
  ];
}
