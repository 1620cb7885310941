// The attendance log in the real daemon, on both stores: sessions from real streams reach the log with
// their reasons, SIGTERM writes every open session's exit, a kill -9 of the primary is repaired as `crash`
// by the next run even on other ports, and a database taken away mid-run neither stops counting nor loses the events.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sessionRow, STORES, waitForSessionRow, type StoreUnderTest } from './helpers/attendance-stores.js';
import { isAlive, sleep, startDaemon, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';
import { writeMmdb } from './helpers/mmdb-writer.js';
import { AUTH_SECRET, signToken } from './helpers/tokens.js';

const ARGS = ['--auth-secret', AUTH_SECRET, '--notify-min-delay', '0.1'];

// Loopback viewers get a country from a GeoIP file of the test's own.
const geoDir = mkdtempSync(join(tmpdir(), 'audience-meter-geo-'));
const GEOIP_DB = join(geoDir, 'loopback.mmdb');
writeMmdb(GEOIP_DB, { '127.0.0.0/8': { country: { iso_code: 'AQ' } } });
after(() => rmSync(geoDir, { recursive: true, force: true }));

const sessionOf = (viewer: SseClient): string => viewer.events[0]!.id!;

async function viewer(daemon: Daemon, ns: string, user: string): Promise<SseClient> {
  const token = await signToken({ sub: user });
  return openViewer(daemon.port, `/${ns}?token=${token}`, { headers: { 'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36' } });
}

for (const kind of STORES) {
  describe(`attendance in the daemon on ${kind.name}`, { skip: kind.skip }, () => {
    let store: StoreUnderTest;
    before(async () => { store = await kind.create(); });
    after(async () => { await store?.cleanup(); });

    const row = (session: string) => sessionRow(store, session);
    const waitForRow = (session: string, check: (r: Record<string, unknown>) => boolean, what: string) => waitForSessionRow(store, session, check, what);

    test('streams become sessions with exits and reasons; SIGTERM writes the exit of every open one', async () => {
      const daemon = await startDaemon([...ARGS, '--attendance', store.target, '--geoip-db', GEOIP_DB], { workers: 2 });
      let stopped = false;
      try {
        const [left, kept1, kept2] = [await viewer(daemon, 'conf', 'ann'), await viewer(daemon, 'conf', 'bob'), await viewer(daemon, 'conf', 'cid')];
        await waitForMembers(daemon, 'conf', 3);
        await waitForRow(sessionOf(kept2), () => true, 'the entries to be written');
        const entered = await row(sessionOf(left));
        assert.equal(entered!.user_id, 'ann');
        assert.equal(entered!.ip, '127.0.0.0', 'truncated by default');
        assert.equal(entered!.browser, 'Chrome 120');
        assert.equal(entered!.country, 'AQ');
        assert.equal(entered!.exit_at, null);
        left.close();
        await waitForRow(sessionOf(left), (r) => r.exit_reason === 'left', 'the exit of a viewer who left');
        const stopAt = Date.now();
        assert.equal(await daemon.stop(), 0);
        stopped = true;
        for (const kept of [kept1, kept2]) {
          const r = await row(sessionOf(kept));
          assert.equal(r!.exit_reason, 'shutdown');
          assert.ok(Number(r!.exit_at) >= stopAt - 1000 && Number(r!.exit_at) <= Date.now());
        }
      } finally {
        if (!stopped) await daemon.stop();
      }
    });

    test('a worker killed with kill -9: the log closes the sessions it held as crash, and only those', async () => {
      const daemon = await startDaemon([...ARGS, '--attendance', store.target], { workers: 2 });
      try {
        // Viewers until both workers hold some (the kernel picks the worker): a row's connection id names it.
        const viewers: SseClient[] = [];
        const holders = new Set<string>();
        while (holders.size < 2 && viewers.length < 40) {
          const v = await viewer(daemon, 'workers', `u${viewers.length}`);
          viewers.push(v);
          await waitForRow(sessionOf(v), () => true, 'the entry');
          holders.add(String((await row(sessionOf(v)))!.connection).split('-')[1]!);
        }
        assert.equal(holders.size, 2, 'viewers on both workers');
        const killedAt = Date.now();
        process.kill(daemon.workerPids()[0]!, 'SIGKILL');
        await waitFor(() => viewers.some((v) => v.ended), 5000, 'the killed worker\'s streams to end');
        await sleep(300);
        const [cut, kept] = [viewers.filter((v) => v.ended), viewers.filter((v) => !v.ended)];
        assert.ok(kept.length > 0, 'the other worker\'s streams go on');
        for (const v of cut) await waitForRow(sessionOf(v), (r) => r.exit_reason === 'crash', 'the crash exit');
        const cutRows = await Promise.all(cut.map((v) => row(sessionOf(v))));
        assert.equal(new Set(cutRows.map((r) => String(r!.connection).split('-')[1])).size, 1, 'one worker\'s sessions');
        for (const r of cutRows) assert.ok(Number(r!.exit_at) >= killedAt - 1000 && Number(r!.exit_at) <= Date.now() + 1000);
        for (const v of kept) assert.equal((await row(sessionOf(v)))!.exit_at, null, 'the other worker\'s sessions stay open');
      } finally {
        await daemon.stop();
      }
    });

    test('after a kill -9, a restart on other ports closes the dead run\'s sessions as crash at its last heartbeat', async () => {
      // A short heartbeat (grace 1.5 s): nothing but the run's own heartbeat tells the new run the old one died.
      const heartbeat = ['--attendance-heartbeat', '0.5'];
      const first = await startDaemon([...ARGS, ...heartbeat, '--attendance', store.target], { workers: 1 });
      const viewers = [await viewer(first, 'crashy', 'dee'), await viewer(first, 'crashy', 'eve')];
      await waitForRow(sessionOf(viewers[1]!), () => true, 'the entries to be written');
      const run = String((await row(sessionOf(viewers[0]!)))!.incarnation);
      const workers = first.workerPids();
      first.process.kill('SIGKILL');
      await first.exited;
      const killedAt = Date.now();
      await waitFor(() => workers.every((pid) => !isAlive(pid)), 5000, 'the orphaned worker to exit');
      for (const v of viewers) assert.equal((await row(sessionOf(v)))!.exit_at, null, 'left open by the crash');
      // Other ports, so another node id: the old run is recognised by its incarnation alone.
      const second = await startDaemon([...ARGS, ...heartbeat, '--attendance', store.target], { workers: 1 });
      try {
        assert.notEqual(second.port, first.port);
        for (const v of viewers) await waitForRow(sessionOf(v), (r) => r.exit_reason === 'crash', 'the crash to be repaired');
        const [dead] = await store.rows('SELECT last_seen, end_reason FROM audience_meter_incarnations WHERE incarnation = ?', [run]);
        assert.equal(dead!.end_reason, 'crash');
        for (const v of viewers) {
          const r = (await row(sessionOf(v)))!;
          assert.equal(Number(r.exit_at), Number(dead!.last_seen), 'closed at the dead run\'s last heartbeat');
          assert.ok(Number(r.exit_at) >= Number(r.entry_at) && Number(r.exit_at) <= killedAt);
        }
        await waitFor(() => /closed 2 sessions left open by a crash/.test(second.stderr()), 5000, 'the repair on stderr');
      } finally {
        await second.stop();
      }
    });

    test('a database taken away mid-run: counting goes on, the failure is logged, events are written when it returns', async () => {
      const daemon = await startDaemon([...ARGS, '--attendance', store.target], { workers: 2 });
      try {
        const early = await viewer(daemon, 'outage', 'fay');
        await waitForRow(sessionOf(early), () => true, 'the first entry');
        await store.makeUnavailable();
        const during = [await viewer(daemon, 'outage', 'gus'), await viewer(daemon, 'outage', 'hal')];
        await waitForMembers(daemon, 'outage', 3);
        early.close();
        await waitForMembers(daemon, 'outage', 2);
        await waitFor(() => /attendance log: cannot write to/.test(daemon.stderr()), 8000, 'the failure on stderr');
        await sleep(300);
        assert.equal(await row(sessionOf(during[0]!)), undefined, 'not written while the database is away');
        await store.makeAvailable();
        for (const v of during) await waitForRow(sessionOf(v), () => true, 'the queued entries');
        await waitForRow(sessionOf(early), (r) => r.exit_reason === 'left', 'the queued exit');
        // stderr is a pipe: the line may land a moment after the rows are readable.
        await waitFor(() => /writable again .* none lost/.test(daemon.stderr()), 5000, 'the recovery on stderr');
        for (const v of during) v.close();
      } finally {
        await store.makeAvailable();
        await daemon.stop();
      }
    });
  });
}
