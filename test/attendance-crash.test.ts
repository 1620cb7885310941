// Crash recovery between nodes sharing one PostgreSQL log, on the real daemon: a node killed for good has
// its sessions closed by the other as `crash` at its last heartbeat; a node only cut off from the database
// (through a TCP proxy of the test's own) past the grace is given up by the other, then, back, takes its
// live sessions back and writes the exits that happened meanwhile at their real time.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sessionRow, STORES, waitForSessionRow, type StoreUnderTest } from './helpers/attendance-stores.js';
import { isAlive, startDaemon, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { AUTH_SECRET, signToken } from './helpers/tokens.js';

const postgres = STORES.find((kind) => kind.name === 'postgres')!;
/** Heartbeats every 0.5 s, so a run silent for 1.5 s (the grace) is given up. */
const ARGS = ['--auth-secret', AUTH_SECRET, '--notify-min-delay', '0.1', '--attendance-heartbeat', '0.5'];
const GRACE_MS = 1500;

const sessionOf = (viewer: SseClient): string => viewer.events[0]!.id!;

async function viewer(daemon: Daemon, ns: string, user: string): Promise<SseClient> {
  return openViewer(daemon.port, `/${ns}?token=${await signToken({ sub: user })}`);
}

describe('crash recovery between nodes on one PostgreSQL schema', { skip: postgres.skip }, () => {
  let store: StoreUnderTest;
  before(async () => { store = await postgres.create(); });
  after(async () => { await store?.cleanup(); });

  const row = (session: string) => sessionRow(store, session);
  const run = async (incarnation: unknown) => (await store.rows('SELECT * FROM audience_meter_incarnations WHERE incarnation = ?', [String(incarnation)]))[0]!;
  const waitForRow = (session: string, check: (r: Record<string, unknown>) => boolean, what: string) => waitForSessionRow(store, session, check, what);

  test('a node killed for good: the other closes its sessions as crash at its last heartbeat, and keeps its own open', async () => {
    const doomed = await startDaemon([...ARGS, '--attendance', store.target], { workers: 1 });
    const survivor = await startDaemon([...ARGS, '--attendance', store.target], { workers: 1 });
    try {
      const lost = [await viewer(doomed, 'shared', 'ann'), await viewer(doomed, 'shared', 'bob')];
      const kept = await viewer(survivor, 'shared', 'cid');
      for (const v of [...lost, kept]) await waitForRow(sessionOf(v), () => true, 'the entries to be written');
      const doomedRun = (await row(sessionOf(lost[0]!)))!.incarnation;
      assert.notEqual(doomedRun, (await row(sessionOf(kept)))!.incarnation, 'each daemon is a run of its own');
      const workers = doomed.workerPids();
      doomed.process.kill('SIGKILL');
      await doomed.exited;
      const killedAt = Date.now();
      await waitFor(() => workers.every((pid) => !isAlive(pid)), 5000, 'the orphaned worker to exit');

      for (const v of lost) await waitForRow(sessionOf(v), (r) => r.exit_reason === 'crash', 'the survivor to close the dead run');
      const dead = await run(doomedRun);
      assert.equal(dead.end_reason, 'crash');
      for (const v of lost) {
        const r = (await row(sessionOf(v)))!;
        assert.equal(Number(r.exit_at), Number(dead.last_seen));
        assert.ok(Number(r.exit_at) <= killedAt);
      }
      await waitFor(() => /closed 2 sessions left open by a crash/.test(survivor.stderr()), 5000, 'the survivor says so');
      assert.equal((await row(sessionOf(kept)))!.exit_at, null, "the survivor's own session stays open");
    } finally {
      if (isAlive(doomed.process.pid!)) doomed.process.kill('SIGKILL');
      await survivor.stop();
    }
  });

  test('a node cut off past the grace and back: its live sessions open again, and exits made meanwhile land right', { timeout: 60_000 }, async () => {
    const pgUrl = new URL(store.target);
    const proxy = new TcpProxy(pgUrl.hostname, Number(pgUrl.port || 5432));
    await proxy.start();
    const throughProxy = new URL(store.target);
    throughProxy.port = String(proxy.port);
    const isolated = await startDaemon([...ARGS, '--attendance', throughProxy.toString()], { workers: 1 });
    const other = await startDaemon([...ARGS, '--attendance', store.target], { workers: 1 });
    try {
      const stays = await viewer(isolated, 'cut', 'dee');
      const leaves = await viewer(isolated, 'cut', 'eve');
      for (const v of [stays, leaves]) await waitForRow(sessionOf(v), () => true, 'the entries to be written');
      const isolatedRun = (await row(sessionOf(stays)))!.incarnation;

      await proxy.stop();
      await waitFor(() => /attendance log: cannot write to/.test(isolated.stderr()), 10_000, 'the cut to be noticed');
      // The other node gives the silent run up once its heartbeat is older than the grace.
      for (const v of [stays, leaves]) await waitForRow(sessionOf(v), (r) => r.exit_reason === 'crash', 'the other node to give the run up');
      const givenUpAt = Number((await run(isolatedRun)).last_seen);
      assert.ok(Date.now() - givenUpAt >= GRACE_MS);
      // Meanwhile one viewer leaves: the cut-off node counts it and keeps the exit for later.
      const leftAt = Date.now();
      leaves.close();
      await waitForMembers(isolated, 'cut', 1);
      const leftBy = Date.now();

      await proxy.start();
      await waitForRow(sessionOf(stays), (r) => r.exit_at === null, 'the live session to be open again');
      await waitForRow(sessionOf(leaves), (r) => r.exit_reason === 'left', 'the exit made during the cut');
      const left = (await row(sessionOf(leaves)))!;
      assert.ok(Number(left.exit_at) >= leftAt - 50 && Number(left.exit_at) <= leftBy, 'the exit at the time the viewer left');
      assert.ok(Number(left.exit_at) > givenUpAt, 'not the time it was given up');
      assert.equal((await run(isolatedRun)).end_reason, null, 'the run is running again');
      await waitFor(() => /they are open again/.test(isolated.stderr()), 5000, 'the return on stderr');

      // Its sessions are its own again: a graceful stop ends the one still open as shutdown.
      const stopAt = Date.now();
      assert.equal(await isolated.stop(), 0);
      const stayed = (await row(sessionOf(stays)))!;
      assert.equal(stayed.exit_reason, 'shutdown');
      assert.ok(Number(stayed.exit_at) >= stopAt);
      assert.equal((await run(isolatedRun)).end_reason, 'shutdown');
    } finally {
      await proxy.stop();
      if (isAlive(isolated.process.pid!)) await isolated.stop();
      await other.stop();
    }
  });
});
