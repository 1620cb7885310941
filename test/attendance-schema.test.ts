// The log's schema on both stores for real: a version-1 database (3.0.0's DDL, built here as 3.0.0 built
// it) migrated with its data kept; PostgreSQL's own types and the CHECK constraints; the prefixed tables
// living beside an application's own `sessions` and `schema_migrations`; and --retention-days deleting
// what is old, on the real daemon, while open sessions and recent rows stay.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseAttendanceTarget, type AttendanceTarget } from '../src/attendance/attendance-options.js';
import type { AttendanceLog } from '../src/attendance/attendance-log.js';
import { createAttendanceLog, openDatabase } from '../src/attendance/create-attendance-log.js';
import { AttendanceReports } from '../src/attendance/reports/attendance-reports.js';
import type { SqlDatabase } from '../src/attendance/sql-database.js';
import { STORES, type StoreUnderTest } from './helpers/attendance-stores.js';
import { startDaemon, waitFor } from './helpers/daemon.js';
import { entry } from './helpers/attendance-events.js';

const T0 = Date.UTC(2024, 0, 15, 9, 0, 0);
const DAY = 86_400_000;

/** 3.0.0's schema, exactly as its migration 1 created it. */
const V1_DDL = [
  'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)',
  `CREATE TABLE sessions (
    session TEXT PRIMARY KEY, ns TEXT NOT NULL, user_id TEXT, user_name TEXT, connection TEXT NOT NULL, node TEXT NOT NULL,
    transport TEXT NOT NULL, entry_at BIGINT NOT NULL, exit_at BIGINT, exit_reason TEXT, last_seen BIGINT NOT NULL,
    page TEXT, browser TEXT, os TEXT, device TEXT, ip TEXT, country TEXT
  )`,
  'CREATE INDEX sessions_by_namespace ON sessions (ns, user_id, entry_at)',
  'CREATE INDEX sessions_open_by_node ON sessions (node) WHERE exit_at IS NULL',
  `CREATE TABLE samples (
    ns TEXT NOT NULL, at BIGINT NOT NULL, node TEXT NOT NULL, members INTEGER NOT NULL, PRIMARY KEY (ns, at, node)
  )`,
];

/** [session, node, user, entry, exit, reason, last_seen, ip] as 3.0.0 wrote them (ms since epoch). */
const V1_SESSIONS = [
  ['v1-closed', 'v1-node-a', 'ann', T0, T0 + 60_000, 'left', T0 + 60_000, '198.51.100.0'],
  // Left open by a crash of node a, whose last sign of life was the exit above.
  ['v1-open', 'v1-node-a', 'bob', T0 + 10_000, null, null, T0 + 30_000, '198.51.100.0'],
  ['v1-zoned', 'v1-node-b', 'ann', T0 + 120_000, T0 + 180_000, 'shutdown', T0 + 180_000, 'fe80::1%eth0'],
] as const;

const target = (store: StoreUnderTest) => parseAttendanceTarget(store.target) as Exclude<AttendanceTarget, { kind: 'off' }>;

function openLog(store: StoreUnderTest, node: string, retentionDays = 0): AttendanceLog {
  const log = createAttendanceLog({ attendance: parseAttendanceTarget(store.target), ipStorage: 'full', geoipDb: undefined, retentionDays },
    node, { flushDelayMs: 5, retryMinMs: 50, retryMaxMs: 200, heartbeatMs: 50 });
  log.start();
  return log;
}

async function flushed(log: AttendanceLog): Promise<void> {
  assert.equal(await log.flushed(10_000), true, `log flushed (${JSON.stringify(log.status())})`);
}

async function withDatabase<T>(store: StoreUnderTest, work: (db: SqlDatabase) => Promise<T>): Promise<T> {
  const db = openDatabase(target(store));
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

async function tableExists(store: StoreUnderTest, table: string): Promise<boolean> {
  return withDatabase(store, async (db) => {
    const query = db.dialect.tableExists(table);
    const [row] = await db.all(query.sql, query.params);
    return row?.present === true || Number(row?.present) === 1;
  });
}

for (const kind of STORES) {
  describe(`the log's schema on ${kind.name}`, { skip: kind.skip }, () => {
    let store: StoreUnderTest;
    before(async () => { store = await kind.create(); });
    after(async () => { await store?.cleanup(); });

    test('a version-1 database is migrated with its data; the open sessions of its dead nodes are closed as crash', async () => {
      await withDatabase(store, async (db) => {
        for (const statement of V1_DDL) await db.run(statement);
        await db.run('INSERT INTO schema_migrations (version, applied_at) VALUES (1, ?)', [T0]);
        for (const [session, node, user, at, exitAt, reason, lastSeen, ip] of V1_SESSIONS) {
          await db.run(`INSERT INTO sessions (session, ns, user_id, user_name, connection, node, transport, entry_at, exit_at, exit_reason,
            last_seen, page, browser, os, device, ip, country) VALUES (?, 'conf', ?, 'Name', 'c', ?, 'sse', ?, ?, ?, ?, '/p', 'Firefox 120', 'Linux', 'desktop', ?, 'FR')`,
          [session, user, node, at, exitAt, reason, lastSeen, ip]);
        }
        await db.run("INSERT INTO samples (ns, at, node, members) VALUES ('conf', ?, 'v1-node-a', 4)", [T0]);
      });

      const log = openLog(store, 'v2-node');
      try {
        await flushed(log);
        const row = async (session: string) => (await store.rows('SELECT * FROM audience_meter_sessions WHERE session = ?', [session]))[0]!;
        await waitFor(async () => (await row('v1-open')).exit_reason === 'crash', 5000, 'the v1 crash to be closed');
        // Closed when its node was last known alive: the later of its own heartbeat and the node's last exit.
        assert.equal(Number((await row('v1-open')).exit_at), T0 + 60_000);
        const closed = await row('v1-closed');
        assert.deepEqual([Number(closed.entry_at), Number(closed.exit_at), closed.exit_reason, closed.ip, closed.node, closed.country],
          [T0, T0 + 60_000, 'left', '198.51.100.0', 'v1-node-a', 'FR']);
        // PostgreSQL's inet takes no zone; SQLite keeps the text as it was.
        assert.equal((await row('v1-zoned')).ip, kind.name === 'postgres' ? 'fe80::1' : 'fe80::1%eth0');
        const samples = await store.rows('SELECT at, members, node FROM audience_meter_samples');
        assert.deepEqual(samples.map((s) => [Number(s.at), Number(s.members), s.node]), [[T0, 4, 'v1-node-a']]);

        // One run per version-1 node: a's was running (and is now given up), b's had closed everything.
        const runs = await store.rows('SELECT node, end_reason FROM audience_meter_incarnations ORDER BY node');
        assert.deepEqual(runs.map((r) => [r.node, r.end_reason]), [['v1-node-a', 'crash'], ['v1-node-b', 'shutdown'], ['v2-node', null]]);
        assert.deepEqual((await store.rows('SELECT version FROM audience_meter_migrations')).map((r) => Number(r.version)), [2]);
        for (const gone of ['sessions', 'samples', 'schema_migrations']) assert.equal(await tableExists(store, gone), false, `${gone} dropped`);

        // The reports read the carried rows in the same shape as before.
        const reports = await withDatabase(store, (db) => new AttendanceReports(async () => db).userAttendance('conf', 'ann'));
        assert.deepEqual(reports.sessions.map((s) => [s.session, s.entry, s.exit, s.exit_reason, s.seconds, s.node]), [
          ['v1-closed', new Date(T0).toISOString(), new Date(T0 + 60_000).toISOString(), 'left', 60, 'v1-node-a'],
          ['v1-zoned', new Date(T0 + 120_000).toISOString(), new Date(T0 + 180_000).toISOString(), 'shutdown', 60, 'v1-node-b'],
        ]);
        assert.equal(reports.seconds_attended, 120);
      } finally {
        await log.close(Date.now(), 5000);
      }
    });

    test('types and CHECK constraints: a value outside an enumeration is refused by the database itself', async () => {
      if (kind.name === 'postgres') {
        const columns = await store.rows(`SELECT table_name, column_name, data_type FROM information_schema.columns
          WHERE table_schema = current_schema() AND column_name IN ('entry_at', 'exit_at', 'last_seen', 'ip', 'incarnation', 'at', 'grace', 'ended_at')
          ORDER BY table_name, column_name`);
        assert.deepEqual(columns.map((c) => `${c.table_name}.${c.column_name} ${c.data_type}`), [
          'audience_meter_incarnations.ended_at timestamp with time zone',
          'audience_meter_incarnations.grace interval',
          'audience_meter_incarnations.incarnation uuid',
          'audience_meter_incarnations.last_seen timestamp with time zone',
          'audience_meter_samples.at timestamp with time zone',
          'audience_meter_sessions.entry_at timestamp with time zone',
          'audience_meter_sessions.exit_at timestamp with time zone',
          'audience_meter_sessions.incarnation uuid',
          'audience_meter_sessions.ip inet',
          'audience_meter_sessions.last_seen timestamp with time zone',
        ]);
      }
      await withDatabase(store, async (db) => {
        const [run] = await db.all('SELECT incarnation FROM audience_meter_incarnations LIMIT 1');
        const insert = (transport: string, exitReason: string | null) => db.run(`INSERT INTO audience_meter_sessions
          (session, ns, connection, node, incarnation, transport, entry_at, last_seen, exit_at, exit_reason)
          VALUES (?, 'conf', 'c', 'n', ?, ?, ?, ?, ?, ?)`,
        [`check-${transport}-${exitReason}`, String(run!.incarnation), transport, new Date(T0), new Date(T0), exitReason ? new Date(T0) : null, exitReason]);
        await assert.rejects(insert('sse', 'vanished'), /check/i);
        await assert.rejects(insert('carrier-pigeon', null), /check/i);
        await insert('ws', 'left');
      });
    });

  });

  describe(`--retention-days on ${kind.name}`, { skip: kind.skip }, () => {
    let store: StoreUnderTest;
    before(async () => { store = await kind.create(); });
    after(async () => { await store?.cleanup(); });

    test('--retention-days on the daemon: old closed sessions, samples and ended runs go, in batches; open and recent ones stay', { timeout: 60_000 }, async () => {
      // An old run, ended long ago: 2,500 sessions (five batches of the daemon's 500) and 1,500 samples.
      const oldRun = openLog(store, 'old-node');
      const old = Array.from({ length: 2500 }, (_, i) => entry({ ns: 'old', at: T0 + i }));
      oldRun.record(old, old.map((e) => ({ session: e.session, at: e.at + 60_000, reason: 'left' as const })));
      for (let i = 0; i < 1500; i++) oldRun.sample([{ name: 'old', members: 1 }], T0 + i * 10_000);
      await flushed(oldRun);
      await oldRun.close(T0 + DAY, 5000);
      const oldId = (oldRun as unknown as { incarnation: { id: string } }).incarnation.id;
      await withDatabase(store, (db) => db.run('UPDATE audience_meter_incarnations SET started_at = ?, last_seen = ?, ended_at = ? WHERE incarnation = ?',
        [new Date(T0), new Date(T0 + DAY), new Date(T0 + DAY), oldId]));

      // A live run holding a session that entered long ago and is still open, recent sessions and samples.
      const liveRun = openLog(store, 'live-node');
      try {
        const stillOpen = entry({ ns: 'still', at: T0 });
        const recent = [entry({ ns: 'recent', at: Date.now() - DAY }), entry({ ns: 'recent', at: Date.now() - 20 * DAY })];
        liveRun.record([stillOpen, ...recent], recent.map((e) => ({ session: e.session, at: e.at + 1000, reason: 'left' as const })));
        liveRun.sample([{ name: 'recent', members: 2 }], Date.now() - DAY);
        await flushed(liveRun);

        const daemon = await startDaemon(['--attendance', store.target, '--retention-days', '30'], { workers: 1 });
        try {
          await waitFor(() => /retention \(30 days\): deleted 2500 closed sessions, 1500 samples and 1 ended runs/.test(daemon.stderr()), 30_000,
            'the retention pass on stderr');
        } finally {
          await daemon.stop();
        }
        const count = async (sql: string) => Number((await store.rows(sql))[0]!.n);
        assert.equal(await count("SELECT COUNT(*) AS n FROM audience_meter_sessions WHERE ns = 'old'"), 0);
        assert.equal(await count("SELECT COUNT(*) AS n FROM audience_meter_samples WHERE ns = 'old'"), 0);
        assert.equal(await count("SELECT COUNT(*) AS n FROM audience_meter_sessions WHERE ns = 'recent'"), 2);
        assert.equal(await count("SELECT COUNT(*) AS n FROM audience_meter_samples WHERE ns = 'recent'"), 1);
        assert.equal(await count(`SELECT COUNT(*) AS n FROM audience_meter_sessions WHERE session = '${stillOpen.session}' AND exit_at IS NULL`), 1,
          'an open session is never deleted, however old');
        assert.equal(await count(`SELECT COUNT(*) AS n FROM audience_meter_incarnations WHERE incarnation = '${oldId}'`), 0);
      } finally {
        await liveRun.close(Date.now(), 5000);
      }
    });
  });

  describe(`the log's tables beside an application's own on ${kind.name}`, { skip: kind.skip }, () => {
    let store: StoreUnderTest;
    before(async () => { store = await kind.create(); });
    after(async () => { await store?.cleanup(); });

    test('an unrelated `sessions` and a `schema_migrations` with text versions are left alone', async () => {
      await withDatabase(store, async (db) => {
        await db.run('CREATE TABLE sessions (sid VARCHAR(64) PRIMARY KEY, data TEXT)');
        await db.run("INSERT INTO sessions (sid, data) VALUES ('app-session', 'cart=3')");
        await db.run('CREATE TABLE schema_migrations (version VARCHAR(32) PRIMARY KEY)');
        await db.run("INSERT INTO schema_migrations (version) VALUES ('20240101000000')");
      });
      const log = openLog(store, 'beside');
      try {
        const e = entry();
        log.record([e], []);
        await flushed(log);
        assert.equal((await store.rows('SELECT ns FROM audience_meter_sessions WHERE session = ?', [e.session]))[0]!.ns, 'conf');
        assert.deepEqual(await store.rows('SELECT sid, data FROM sessions'), [{ sid: 'app-session', data: 'cart=3' }]);
        assert.deepEqual(await store.rows('SELECT version FROM schema_migrations'), [{ version: '20240101000000' }]);
      } finally {
        await log.close(Date.now(), 5000);
      }
    });
  });
}
