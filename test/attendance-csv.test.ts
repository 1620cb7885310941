// Every CSV report of the admin port, read back with a real CSV parser (csv-parse): names, pages and device
// facts with commas, quotes, CR, LF, CRLF, tabs and formula prefixes must come back as the JSON report has
// them, one record per row, with only the formula cells neutralised (a leading `'`).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { parseAttendanceTarget } from '../src/attendance/attendance-options.js';
import { createAttendanceLog } from '../src/attendance/create-attendance-log.js';
import type { SessionEntry } from '../src/protocol/sessions.js';
import { STORES } from './helpers/attendance-stores.js';
import { reportDaemon } from './helpers/report-daemon.js';

const T0 = Date.UTC(2024, 5, 1, 12, 0, 0);
const NS = 'csv-webinar';

/**
 * Values a CSV writer gets wrong: separators, quotes, every line break, tabs, and spreadsheet formulas; and
 * SQL that a query built from strings would run (kept as text: the statements take parameters).
 */
const HOSTILE = [
  'Doe, "Al"',
  'first line\nsecond line',
  'carriage\rreturn',
  'windows\r\nline',
  'tab\tinside',
  '\tleading tab',
  '\rleading CR',
  '=HYPERLINK("http://x.example","click")',
  '+1+2',
  '-3',
  '@SUM(A1)',
  'trailing newline\n',
  '"',
  'plain',
  "Robert'); DROP TABLE audience_meter_sessions; --",
  "x' OR '1'='1",
];

const SESSIONS = HOSTILE.map((name, i) => ({
  session: `s${i}`,
  // A user id that, pasted into a query, would select every user's sessions (each report below expects one).
  user: `user,${i}"x' OR '1'='1`,
  name,
  page: HOSTILE[(i + 3) % HOSTILE.length]!,
  browser: HOSTILE[(i + 5) % HOSTILE.length]!,
  os: HOSTILE[(i + 7) % HOSTILE.length]!,
  device: HOSTILE[(i + 9) % HOSTILE.length]!,
  start: i * 60,
  end: i * 60 + 600,
}));

/** What a spreadsheet-safe cell holds: a leading formula character is escaped with `'` (csv-stringify's escape_formulas). */
function cell(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  return /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/.test(value) ? `'${value}` : value;
}

async function seed(target: string): Promise<void> {
  const log = createAttendanceLog({ attendance: parseAttendanceTarget(target), ipStorage: 'full', geoipDb: undefined }, 'csv-node', { flushDelayMs: 1 });
  log.start();
  const entries: SessionEntry[] = SESSIONS.map((s) => ({
    session: s.session, connection: `c-${s.session}`, ns: NS, user: s.user, name: s.name, at: T0 + s.start * 1000,
    page: s.page, browser: s.browser, os: s.os, device: s.device, ip: '192.0.2.9', transport: 'sse',
  }));
  log.record(entries, SESSIONS.map((s) => ({ session: s.session, at: T0 + s.end * 1000, reason: 'left' as const })));
  log.sample([{ name: NS, members: 3 }], T0);
  assert.equal(await log.flushed(10_000), true);
  await log.close(T0 + 9999_000, 5000);
}

for (const kind of STORES) {
  describe(`CSV reports read back with csv-parse (${kind.name})`, { skip: kind.skip }, () => {
    const fixture = reportDaemon(kind, seed);
    const get = async (path: string) => {
      const reply = await fixture.get(path);
      assert.equal(reply.status, 200, `${path}: ${reply.body}`);
      return reply.body;
    };
    const json = async (path: string) => JSON.parse(await get(path));
    /**
     * The CSV parsed strictly, as spreadsheets read it: any of CRLF, LF or CR ends a record outside quotes,
     * every record has the header's width, no stray quote.
     */
    const csv = async (path: string) => parse(await get(path), { record_delimiter: ['\r\n', '\n', '\r'], relax_quotes: false, relax_column_count: false }) as string[][];

    test('the namespace attendance: one record per user, every name intact', async () => {
      const { users } = await json(`/api/attendance/${NS}`);
      assert.equal(users.length, SESSIONS.length);
      const records = await csv(`/api/attendance/${NS}?format=csv`);
      assert.deepEqual(records[0], ['user', 'name', 'sessions', 'first_entry', 'last_exit', 'seconds_attended', 'devices']);
      assert.deepEqual(records.slice(1), users.map((u: Record<string, string | number | null> & { devices: string[] }) =>
        [u.user, u.name, u.sessions, u.first_entry, u.last_exit, u.seconds_attended, u.devices.join('; ')].map((v) => cell(v as string | number | null))));
      // The names really are the hostile ones, not something the report altered on both sides.
      assert.deepEqual(users.map((u: { name: string }) => u.name).sort(), [...HOSTILE].sort());
    });

    test("one user's sessions: pages and device facts intact, then the total", async () => {
      for (const s of SESSIONS) {
        const path = `/api/attendance/${NS}/${encodeURIComponent(s.user)}`;
        const report = await json(path);
        const records = await csv(`${path}?format=csv`);
        assert.equal(records.length, 3, s.user);
        const [one] = report.sessions;
        assert.equal(one.page, s.page);
        assert.deepEqual(records[1], ['session', one.session, one.entry, one.exit, one.exit_reason, one.seconds, one.page, one.browser, one.os,
          one.device, one.country, one.ip, one.node].map(cell));
        assert.deepEqual(records[2], ['total', '', '', '', '', String(report.seconds_attended), '', '', '', '', '', '', '']);
      }
    });

    test('the breakdown: every browser, OS and device value intact', async () => {
      const b = await json(`/api/namespaces/${NS}/breakdown`);
      const records = await csv(`/api/namespaces/${NS}/breakdown?format=csv`);
      const expected: (string | number | null)[][] = [
        ['total', 'sessions', b.sessions], ['total', 'unique_users', b.unique_users],
        ['total', 'anonymous_sessions', b.anonymous_sessions], ['total', 'peak_concurrent_viewers', b.peak_concurrent_viewers],
      ];
      for (const dimension of ['by_browser', 'by_os', 'by_device', 'by_country'] as const) {
        for (const t of b[dimension]) expected.push([dimension.slice(3), t.value, t.sessions]);
      }
      for (const h of b.session_length) expected.push(['session_length', h.bucket, h.sessions]);
      assert.deepEqual(records, [['dimension', 'value', 'count'], ...expected.map((row) => row.map(cell))]);
      assert.deepEqual(b.by_browser.map((t: { value: string }) => t.value).sort(), [...HOSTILE].sort());
    });

    test('the history', async () => {
      const records = await csv(`/api/namespaces/${NS}/history?format=csv&from=${T0 / 1000}&to=${T0 / 1000 + 60}`);
      assert.deepEqual(records, [['at', 'members', 'node'], [new Date(T0).toISOString(), '3', 'csv-node']]);
    });
  });
}
