// The attendance reports on the admin port, on both stores: a log written with known sessions, then read
// through the daemon's /api/ as an organiser would, in JSON and CSV, with the admin token.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseAttendanceTarget } from '../src/attendance/attendance-options.js';
import { createAttendanceLog } from '../src/attendance/create-attendance-log.js';
import type { SessionEntry } from '../src/protocol/sessions.js';
import { STORES } from './helpers/attendance-stores.js';
import { startDaemon } from './helpers/daemon.js';
import { httpRequest } from './helpers/http.js';
import { reportDaemon } from './helpers/report-daemon.js';

const T0 = Date.UTC(2024, 5, 1, 12, 0, 0);
const iso = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

const DESKTOP = { browser: 'Chrome 120', os: 'Linux', device: 'desktop' };
const PHONE = { browser: 'Safari 17', os: 'iOS 17', device: 'mobile' };

/** [session, user, name, device facts, entry s, exit s] — alice's two devices overlap from 1800 s to 3600 s. */
const SESSIONS = [
  ['s1', 'alice', 'Doe, "Al"', DESKTOP, 0, 3600],
  ['s2', 'alice', 'Doe, "Al"', PHONE, 1800, 5400],
  ['s3', 'bob', null, DESKTOP, 600, 1200],
  ['s4', 'bob', null, DESKTOP, 3000, 3300],
  ['s5', null, null, PHONE, 0, 30],
] as const;

async function seed(target: string): Promise<void> {
  const log = createAttendanceLog({ attendance: parseAttendanceTarget(target), ipStorage: 'truncated', geoipDb: undefined }, 'seed-node', { flushDelayMs: 1 });
  log.start();
  const entries: SessionEntry[] = SESSIONS.map(([session, user, name, facts, start]) => ({
    session, connection: `c-${session}`, ns: 'webinar', user, name, at: T0 + start * 1000, page: '=cmd|calc', ...facts, ip: '192.0.2.9', transport: 'sse',
  }));
  log.record(entries, SESSIONS.map(([session, , , , , end]) => ({ session, at: T0 + end * 1000, reason: 'left' as const })));
  log.sample([{ name: 'webinar', members: 3 }], T0);
  log.sample([{ name: 'webinar', members: 4 }], T0 + 10_000);
  log.sample([{ name: 'webinar', members: 9 }], T0 + 7200_000);
  assert.equal(await log.flushed(10_000), true);
  await log.close(T0 + 9999_000, 5000);
}

for (const kind of STORES) {
  describe(`attendance reports on ${kind.name}`, { skip: kind.skip }, () => {
    const { get } = reportDaemon(kind, seed);
    const json = async (path: string) => {
      const reply = await get(path);
      assert.equal(reply.status, 200, `${path}: ${reply.body}`);
      assert.match(String(reply.headers['content-type']), /application\/json/);
      return JSON.parse(reply.body);
    };

    test('/api/ needs the bearer token when --admin-token is set', async () => {
      assert.equal((await get('/api/attendance/webinar', {})).status, 401);
      assert.equal((await get('/api/attendance/webinar', { Authorization: 'Bearer wrong-token-0123456789' })).status, 401);
    });

    test('one row per user, overlapping sessions merged', async () => {
      const report = await json('/api/attendance/webinar');
      assert.deepEqual(report, {
        namespace: 'webinar',
        users: [
          { user: 'alice', name: 'Doe, "Al"', sessions: 2, first_entry: iso(0), last_exit: iso(5400), seconds_attended: 5400,
            devices: ['desktop / Linux / Chrome 120', 'mobile / iOS 17 / Safari 17'] },
          { user: 'bob', name: null, sessions: 2, first_entry: iso(600), last_exit: iso(3300), seconds_attended: 900,
            devices: ['desktop / Linux / Chrome 120'] },
        ],
      });
    });

    test('the same as CSV, quoted, formulas neutralised', async () => {
      const reply = await get('/api/attendance/webinar?format=csv');
      assert.equal(reply.status, 200);
      assert.match(String(reply.headers['content-type']), /^text\/csv/);
      assert.equal(reply.body, [
        'user,name,sessions,first_entry,last_exit,seconds_attended,devices',
        `alice,"Doe, ""Al""",2,${iso(0)},${iso(5400)},5400,desktop / Linux / Chrome 120; mobile / iOS 17 / Safari 17`,
        `bob,,2,${iso(600)},${iso(3300)},900,desktop / Linux / Chrome 120`,
        '',
      ].join('\r\n'));
    });

    test("one user's sessions and merged total, for a certificate", async () => {
      const report = await json('/api/attendance/webinar/alice');
      assert.equal(report.user, 'alice');
      assert.equal(report.seconds_attended, 5400);
      assert.equal(report.session_count, 2);
      assert.deepEqual(report.sessions.map((s: { session: string; seconds: number; exit_reason: string }) => [s.session, s.seconds, s.exit_reason]), [['s1', 3600, 'left'], ['s2', 3600, 'left']]);
      assert.equal(report.sessions[0].ip, '192.0.2.0');
      const csv = (await get('/api/attendance/webinar/alice?format=csv')).body.split('\r\n');
      assert.equal(csv[0], 'row,session,entry,exit,exit_reason,seconds,page,browser,os,device,country,ip,node');
      assert.equal(csv[1], `session,s1,${iso(0)},${iso(3600)},left,3600,'=cmd|calc,Chrome 120,Linux,desktop,,192.0.2.0,seed-node`);
      assert.equal(csv[3], 'total,,,,,5400,,,,,,,');
      assert.deepEqual((await json('/api/attendance/webinar/nobody')).sessions, []);
    });

    test('breakdown: by browser, OS, device, country, session lengths; unique users and peak', async () => {
      const b = await json('/api/namespaces/webinar/breakdown');
      assert.equal(b.sessions, 5);
      assert.equal(b.unique_users, 2);
      assert.equal(b.anonymous_sessions, 1);
      assert.equal(b.peak_concurrent_viewers, 3);
      assert.equal(b.peak_at, iso(3000));
      assert.deepEqual(b.by_device, [{ value: 'desktop', sessions: 3 }, { value: 'mobile', sessions: 2 }]);
      assert.deepEqual(b.by_country, [{ value: null, sessions: 5 }]);
      assert.deepEqual(b.session_length.filter((h: { sessions: number }) => h.sessions > 0), [
        { bucket: '<1m', sessions: 1 }, { bucket: '5-15m', sessions: 2 }, { bucket: '1-2h', sessions: 2 },
      ]);
      const csv = (await get('/api/namespaces/webinar/breakdown?format=csv')).body;
      assert.match(csv, /^dimension,value,count\r\ntotal,sessions,5\r\n/);
      assert.match(csv, /\r\nbrowser,Chrome 120,3\r\n/);
    });

    test('history: the stored samples between from and to (UNIX seconds or ISO 8601)', async () => {
      const report = await json(`/api/namespaces/webinar/history?from=${T0 / 1000}&to=${encodeURIComponent(iso(3600))}`);
      assert.deepEqual(report.samples, [{ at: iso(0), members: 3, node: 'seed-node' }, { at: iso(10), members: 4, node: 'seed-node' }]);
      const csv = (await get(`/api/namespaces/webinar/history?format=csv&from=${T0 / 1000}&to=${T0 / 1000 + 60}`)).body;
      assert.equal(csv, `at,members,node\r\n${iso(0)},3,seed-node\r\n${iso(10)},4,seed-node\r\n`);
    });

    test('bad values get 400 with one line; an unknown namespace gets an empty report', async () => {
      for (const [path, reason] of [
        ['/api/attendance/webinar?format=xml', 'format must be json or csv'],
        ['/api/namespaces/webinar/history?from=yesterday', 'from must be UNIX seconds or an ISO 8601 time, e.g. 2024-06-01T12:00:00Z'],
        ['/api/namespaces/webinar/history?from=200&to=100', 'from must not be after to'],
        ['/api/attendance/%ZZ', 'namespace is not valid percent-encoding'],
        ['/api/attendance/webinar/a%00b', 'user contains a control character'],
      ]) {
        const reply = await get(path!);
        assert.equal(reply.status, 400, path);
        assert.deepEqual(JSON.parse(reply.body), { error: reason });
      }
      assert.deepEqual((await json('/api/attendance/never-held')).users, []);
      assert.equal((await json('/api/namespaces/never-held/breakdown')).sessions, 0);
    });

    test('the 2.x notification route and /api/peers still answer next to the reports', async () => {
      assert.equal((await get('/ns/svc/msg')).status, 200);
      assert.equal((await get('/ns/svc/msg', {})).status, 401);
      assert.equal((await get('/api/peers')).status, 200);
      assert.equal((await get('/api/nothing/here/at/all')).status, 404);
    });
  });
}

test('with --attendance off the reports answer 404 with the reason', async () => {
  const daemon = await startDaemon(['--attendance', 'off'], { workers: 1 });
  try {
    const reply = await httpRequest(daemon.notificationPort, '/api/attendance/webinar');
    assert.equal(reply.status, 404);
    assert.deepEqual(JSON.parse(reply.body), { error: 'the attendance log is off (--attendance off)' });
  } finally {
    await daemon.stop();
  }
});
