// The attendance log driven directly, on both stores for real: what is written for entries and exits,
// idempotent exits, the shutdown sweep, crash recovery by another run, a database that goes away and comes back,
// and the queue's bound.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAttendanceTarget } from '../src/attendance/attendance-options.js';
import type { AttendanceLog } from '../src/attendance/attendance-log.js';
import type { AttendanceTarget } from '../src/attendance/attendance-options.js';
import { createAttendanceLog, openDatabase } from '../src/attendance/create-attendance-log.js';
import { graceFor } from '../src/attendance/incarnations.js';
import { AttendanceReports } from '../src/attendance/reports/attendance-reports.js';
import type { SessionExit } from '../src/protocol/sessions.js';
import { STORES, type StoreUnderTest } from './helpers/attendance-stores.js';
import { waitFor } from './helpers/daemon.js';
import { writeMmdb } from './helpers/mmdb-writer.js';

import { entry, T0 } from './helpers/attendance-events.js';

const exit = (session: string, at: number, reason: SessionExit['reason'] = 'left'): SessionExit => ({ session, at, reason });

const geoDir = mkdtempSync(join(tmpdir(), 'audience-meter-geo-'));
const geoipDb = join(geoDir, 'country.mmdb');
writeMmdb(geoipDb, { '203.0.113.0/24': { country: { iso_code: 'FR' } } });
after(() => rmSync(geoDir, { recursive: true, force: true }));

function open(store: StoreUnderTest, node: string, more: { queueLimit?: number; heartbeatMs?: number; ipStorage?: 'full' | 'truncated' | 'none' } = {}): AttendanceLog {
  const log = createAttendanceLog(
    { attendance: parseAttendanceTarget(store.target), ipStorage: more.ipStorage ?? 'truncated', geoipDb },
    node, { flushDelayMs: 5, retryMinMs: 50, retryMaxMs: 200, queueLimit: more.queueLimit, heartbeatMs: more.heartbeatMs });
  log.start();
  return log;
}

async function flushed(log: AttendanceLog): Promise<void> {
  assert.equal(await log.flushed(10_000), true, `log flushed (${JSON.stringify(log.status())})`);
}

for (const kind of STORES) {
  describe(`attendance log on ${kind.name}`, { skip: kind.skip }, () => {
    let store: StoreUnderTest;
    before(async () => { store = await kind.create(); });
    after(async () => { await store?.cleanup(); });

    const session = async (id: string) => (await store.rows('SELECT * FROM audience_meter_sessions WHERE session = ?', [id]))[0]!;

    test('entries and exits are written with their facts and reasons; the first exit wins', async () => {
      const log = open(store, 'node-a');
      const a = entry();
      const b = entry({ user: null, name: null, ip: '2001:db8:abcd:12::1', device: 'mobile' });
      log.record([a, b], []);
      log.record([], [exit(a.session, T0 + 60_000, 'expelled')]);
      log.record([], [exit(a.session, T0 + 90_000, 'left'), exit(b.session, T0 + 5000, 'max-duration')]);
      await flushed(log);
      const rowA = await session(a.session);
      assert.equal(rowA.ns, 'conf');
      assert.equal(rowA.user_id, 'alice');
      assert.equal(rowA.user_name, 'Alice');
      assert.equal(rowA.node, 'node-a');
      assert.equal(Number(rowA.entry_at), T0);
      assert.equal(Number(rowA.exit_at), T0 + 60_000, 'the first exit is kept');
      assert.equal(rowA.exit_reason, 'expelled');
      assert.equal(rowA.ip, '203.0.113.0', 'truncated to /24 by default');
      assert.equal(rowA.country, 'FR', 'looked up on the full address');
      assert.equal(rowA.page, '/live');
      assert.equal(rowA.browser, 'Chrome 120');
      const rowB = await session(b.session);
      assert.equal(rowB.user_id, null);
      assert.equal(rowB.ip, '2001:db8:abcd::', 'truncated to /48');
      assert.equal(rowB.country, null);
      assert.equal(rowB.exit_reason, 'max-duration');
      await log.close(T0 + 100_000, 5000);
    });

    test('a session that leaves within the batch of its entry is written closed, like one whose exit comes in a later batch', async () => {
      const log = open(store, 'node-a');
      const quick = entry({ user: null, name: null });
      const stays = entry({ user: null, name: null });
      const stillOpen = entry({ user: null, name: null });
      // One batch: three entries, the first's exit twice (the first wins), none for the others.
      log.record([quick, stays, stillOpen], [exit(quick.session, T0 + 2000, 'max-duration'), exit(quick.session, T0 + 3000, 'left')]);
      await flushed(log);
      const open1 = await session(stays.session);
      assert.equal(open1.exit_at, null, 'no exit yet');
      // A later batch: the exit of a session written before.
      log.record([], [exit(stays.session, T0 + 7000, 'left')]);
      await flushed(log);
      const rowQuick = await session(quick.session);
      assert.equal(Number(rowQuick.exit_at), T0 + 2000);
      assert.equal(rowQuick.exit_reason, 'max-duration');
      assert.equal(Number(rowQuick.last_seen), T0 + 2000, 'last seen when it left');
      assert.equal(Number(rowQuick.entry_at), T0);
      const rowStays = await session(stays.session);
      assert.equal(Number(rowStays.exit_at), T0 + 7000);
      assert.equal(rowStays.exit_reason, 'left');
      assert.equal(Number(rowStays.last_seen), T0 + 7000);
      const rowOpen = await session(stillOpen.session);
      assert.equal(rowOpen.exit_at, null);
      assert.equal(rowOpen.exit_reason, null);
      assert.equal(Number(rowOpen.last_seen), T0);
      await log.close(T0 + 100_000, 5000);
    });

    test('the schema is migrated once, and a restart finds it in place', async () => {
      const versions = await store.rows('SELECT version FROM audience_meter_migrations');
      assert.deepEqual(versions.map((r) => Number(r.version)), [2]);
    });

    test('a graceful stop closes every open session of its node as shutdown, after the exits already sent', async () => {
      const log = open(store, 'node-b');
      const [a, b, c] = [entry(), entry(), entry()];
      log.record([a, b, c], [exit(a.session, T0 + 1000, 'left')]);
      // A worker's own shutdown exit, then the primary's sweep: the worker's time is kept.
      log.record([], [exit(b.session, T0 + 2000, 'shutdown')]);
      const other = open(store, 'node-other');
      const d = entry();
      other.record([d], []);
      await flushed(other);
      await log.close(T0 + 3000, 5000);
      assert.equal((await session(a.session)).exit_reason, 'left');
      assert.equal(Number((await session(b.session)).exit_at), T0 + 2000);
      assert.equal((await session(c.session)).exit_reason, 'shutdown');
      assert.equal(Number((await session(c.session)).exit_at), T0 + 3000);
      assert.equal((await session(d.session)).exit_at, null, "another node's sessions are not touched");
      await other.close(T0 + 4000, 5000);
    });

    test("a run that stops: its heartbeat stops, reports stop counting it past the grace, and another run closes it as crash", async () => {
      // A "crashed" run: its sessions are open, its run last seen by a heartbeat; the log is never closed gracefully.
      const heartbeatMs = 40;
      const crashed = open(store, 'node-c', { heartbeatMs });
      const id = (crashed as unknown as { incarnation: { id: string } }).incarnation.id;
      const run = async () => (await store.rows('SELECT * FROM audience_meter_incarnations WHERE incarnation = ?', [id]))[0];
      const a = entry({ at: Date.now() - 10_000 });
      crashed.record([a], []);
      await flushed(crashed);
      const registered = Number((await run())!.last_seen);
      await waitFor(async () => Number((await run())!.last_seen) > registered, 5000, 'a heartbeat');
      // Stop its timers without writing anything more, as a kill -9 would.
      (crashed as unknown as { closed: boolean }).closed = true;
      clearInterval((crashed as unknown as { heartbeat: NodeJS.Timeout }).heartbeat);
      await (crashed as unknown as { db: { close(): Promise<void> } }).db.close();
      const lastSeen = Number((await run())!.last_seen);
      assert.equal((await session(a.session)).exit_at, null);
      assert.equal((await session(a.session)).incarnation, id);

      // No node closed it yet: an hour later, the report still ends it at its last sign of life plus the grace.
      const db = openDatabase(parseAttendanceTarget(store.target) as Exclude<AttendanceTarget, { kind: 'off' }>);
      try {
        const report = await new AttendanceReports(async () => db).userAttendance('conf', 'alice', Date.now() + 3_600_000);
        const mine = report.sessions.find((s) => s.session === a.session)!;
        assert.equal(mine.exit, null);
        assert.equal(mine.seconds, Math.round((lastSeen + graceFor(heartbeatMs) - a.at) / 1000));
      } finally {
        await db.close();
      }

      // Any other run closes it once its heartbeat is older than its grace, at that heartbeat.
      const other = open(store, 'node-elsewhere', { heartbeatMs });
      await waitFor(async () => (await session(a.session)).exit_reason === 'crash', 5000, 'the crash to be closed');
      assert.equal(Number((await session(a.session)).exit_at), lastSeen);
      assert.equal((await run())!.end_reason, 'crash');
      await other.close(Date.now(), 5000);
    });

    test('a run given up while only silent takes back the sessions closed for it, not its own crash exits', async () => {
      const heartbeatMs = 40;
      const silent = open(store, 'node-g', { heartbeatMs });
      const since = Date.now() - 5000;
      const [workerDied, stays, leaves] = [entry({ at: since }), entry({ at: since }), entry({ at: since })];
      // A worker of this run died: the primary wrote its session's exit as crash itself.
      silent.record([workerDied, stays, leaves], [exit(workerDied.session, since + 1000, 'crash')]);
      await flushed(silent);
      // Silence, as when cut off from the database: no heartbeat, no write.
      clearInterval((silent as unknown as { heartbeat: NodeJS.Timeout }).heartbeat);
      const other = open(store, 'node-h', { heartbeatMs });
      await waitFor(async () => (await session(stays.session)).exit_reason === 'crash', 5000, 'the silent run to be given up');
      assert.equal((await session(stays.session)).given_up_by, (other as unknown as { incarnation: { id: string } }).incarnation.id);
      const leftAt = Date.now();
      silent.record([], [exit(leaves.session, leftAt)]);
      await flushed(silent);
      assert.deepEqual([(await session(stays.session)).exit_at, (await session(stays.session)).given_up_by], [null, null], 'open again');
      assert.equal((await session(leaves.session)).exit_reason, 'left');
      assert.equal(Number((await session(leaves.session)).exit_at), leftAt, 'the exit made while silent, at its time');
      assert.equal((await session(workerDied.session)).exit_reason, 'crash', "the run's own crash exit stays");
      assert.equal(Number((await session(workerDied.session)).exit_at), since + 1000);
      await other.close(Date.now(), 5000);
      await silent.close(Date.now(), 5000);
      assert.equal((await session(stays.session)).exit_reason, 'shutdown');
    });

    test('a database that goes away: events wait, the failure is reported, and they are written when it returns', async () => {
      const log = open(store, 'node-d');
      await flushed(log);
      await store.makeUnavailable();
      try {
        const sessions = [entry(), entry(), entry()];
        log.record(sessions, [exit(sessions[0]!.session, T0 + 500)]);
        await waitFor(() => log.status().failing !== undefined, 10_000, 'the failure to be noticed');
        assert.equal(log.status().queued, 4);
        await store.makeAvailable();
        await flushed(log);
        assert.equal(log.status().failing, undefined);
        assert.equal((await session(sessions[0]!.session)).exit_reason, 'left');
        assert.equal((await session(sessions[2]!.session)).exit_at, null);
      } finally {
        await store.makeAvailable();
        await log.close(T0 + 1000, 5000);
      }
    });

    test('past the queue bound, events are dropped and counted', async () => {
      const log = open(store, 'node-e', { queueLimit: 3 });
      await flushed(log);
      await store.makeUnavailable();
      try {
        log.record([entry(), entry(), entry(), entry(), entry()], []);
        assert.deepEqual([log.status().queued, log.status().dropped], [3, 2]);
      } finally {
        await store.makeAvailable();
      }
      await flushed(log);
      await log.close(T0, 5000);
    });

    test('samples are stored per namespace and node', async () => {
      const log = open(store, 'node-f');
      log.sample([{ name: 'conf', members: 3 }, { name: 'other', members: 0 }], T0);
      log.sample([{ name: 'conf', members: 5 }], T0 + 10_000);
      await flushed(log);
      const rows = await store.rows("SELECT at, members FROM audience_meter_samples WHERE ns = 'conf' AND node = 'node-f' ORDER BY at");
      assert.deepEqual(rows.map((r) => [Number(r.at), Number(r.members)]), [[T0, 3], [T0 + 10_000, 5]]);
      await log.close(T0, 5000);
    });
  });
}

test('--ip-storage full and none', async () => {
  const store = await STORES[0]!.create();
  try {
    for (const mode of ['full', 'none'] as const) {
      const log = open(store, `node-${mode}`, { ipStorage: mode });
      const a = entry();
      log.record([a], []);
      await flushed(log);
      const [row] = await store.rows('SELECT ip, country FROM audience_meter_sessions WHERE session = ?', [a.session]);
      assert.equal(row!.ip, mode === 'full' ? '203.0.113.77' : null);
      assert.equal(row!.country, 'FR', 'the country does not depend on what is stored');
      await log.close(T0, 5000);
    }
  } finally {
    await store.cleanup();
  }
});
