// Sessions: the device limit across workers (the oldest is expelled, its reconnection gets 204 on any
// worker), and every exit reaching the primary with its reason. Exits are read from the primary's
// `audience-meter:sessions` debug lines, one per event.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ALTERNATE_WORKERS, startDaemon, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { httpRequest } from './helpers/http.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';
import { AUTH_SECRET, signToken } from './helpers/tokens.js';

function sessionOf(viewer: SseClient): string {
  return viewer.events[0]!.id!;
}

function waitForExit(daemon: Daemon, session: string, reason: string): Promise<void> {
  return waitFor(() => daemon.stderr().includes(`exit ${session} reason=${reason}`), 5000, `exit ${session} reason=${reason}`);
}

async function usersIn(daemon: Daemon, ns: string): Promise<number | undefined> {
  return ((await daemon.stats())[ns] as { users?: number } | undefined)?.users;
}

describe('--max-devices across workers', () => {
  let daemon: Daemon;
  before(async () => {
    daemon = await startDaemon(['-d', '--auth-secret', AUTH_SECRET, '--max-devices', '1', '--notify-min-delay', '0.1'], { workers: 2, env: ALTERNATE_WORKERS });
  });
  after(async () => { await daemon.stop(); });

  test('a new device expels the oldest session, whose reconnection gets 204 on every worker', async () => {
    const token = await signToken({ sub: 'one-device' });
    // Connections alternate between the two workers, so consecutive sessions sit on different ones.
    const first = await openViewer(daemon.port, `/limited?token=${token}`);
    await waitFor(() => daemon.stderr().includes(`entry ${sessionOf(first)} `), 3000, 'the first entry');
    const second = await openViewer(daemon.port, `/limited?token=${token}`);
    await first.waitForEnd();
    assert.deepEqual(first.events.at(-1), { event: 'expelled', data: 'device-limit-exceeded' });
    await waitForExit(daemon, sessionOf(first), 'expelled');

    const third = await openViewer(daemon.port, `/limited?token=${token}`);
    await second.waitForEnd();
    assert.deepEqual(second.events.at(-1), { event: 'expelled', data: 'device-limit-exceeded' });
    await waitForExit(daemon, sessionOf(second), 'expelled');
    assert.equal(third.ended, false);
    await waitForMembers(daemon, 'limited', 1);
    assert.equal(await usersIn(daemon, 'limited'), 1);

    // EventSource reconnects with Last-Event-ID = the expelled session: 204 stops it, on either worker and
    // on either way in (a body sends the request to node:http).
    for (const expelled of [sessionOf(first), sessionOf(second)]) {
      for (let i = 0; i < 2; i++) {
        const headers = { Accept: 'text/event-stream', 'Last-Event-ID': expelled };
        assert.equal((await httpRequest(daemon.port, `/limited?token=${token}`, { headers })).status, 204);
        const viaHttp = await httpRequest(daemon.port, `/limited?token=${token}`, { method: 'POST', headers: { ...headers, 'Content-Length': '2' }, body: 'hi' });
        assert.equal(viaHttp.status, 204);
        // audience.js reopening a stream itself (a new EventSource sends no Last-Event-ID) puts it in the URL.
        const reopened = await httpRequest(daemon.port, `/limited?token=${token}&last-event-id=${expelled}`, { headers: { Accept: 'text/event-stream' } });
        assert.equal(reopened.status, 204);
      }
    }
    // A session that was not expelled reconnects normally.
    third.close();
    await waitForExit(daemon, sessionOf(third), 'left');
    const back = await openViewer(daemon.port, `/limited?token=${token}`, { headers: { 'Last-Event-ID': sessionOf(third) } });
    assert.equal(back.status, 200);
    back.close();
  });

  test('the limit is per user and per namespace; anonymous viewers are never expelled', async () => {
    const a = await signToken({ sub: 'user-a' });
    const b = await signToken({ sub: 'user-b' });
    const viewers = [
      await openViewer(daemon.port, `/room-1?token=${a}`),
      await openViewer(daemon.port, `/room-2?token=${a}`),
      await openViewer(daemon.port, `/room-1?token=${b}`),
      await openViewer(daemon.port, '/room-1'),
      await openViewer(daemon.port, '/room-1'),
    ];
    await waitForMembers(daemon, 'room-1', 4);
    await waitForMembers(daemon, 'room-2', 1);
    assert.equal(await usersIn(daemon, 'room-1'), 2);
    assert.ok(viewers.every((v) => !v.ended), 'nobody was expelled');
    for (const viewer of viewers) viewer.close();
  });
});

describe('--max-devices with the kernel choosing the worker (the default)', () => {
  test('an expelled browser reconnecting the moment its stream ends gets 204, whichever worker takes it', async () => {
    const daemon = await startDaemon(['-d', '--auth-secret', AUTH_SECRET, '--max-devices', '1'], { workers: 2 });
    try {
      const token = await signToken({ sub: 'hasty' });
      let current = await openViewer(daemon.port, `/hasty?token=${token}`);
      for (let round = 0; round < 20; round++) {
        await waitFor(() => daemon.stderr().includes(`entry ${sessionOf(current)} `), 3000, 'the entry');
        const next = await openViewer(daemon.port, `/hasty?token=${token}`);
        await current.waitForEnd();
        assert.deepEqual(current.events.at(-1), { event: 'expelled', data: 'device-limit-exceeded' });
        // As EventSource does, at once: every worker knew the id before the stream ended.
        const headers = { Accept: 'text/event-stream', 'Last-Event-ID': sessionOf(current) };
        assert.equal((await httpRequest(daemon.port, `/hasty?token=${token}`, { headers })).status, 204, `round ${round}`);
        current = next;
      }
      current.close();
    } finally {
      await daemon.stop();
    }
  });
});

describe('exit reasons', () => {
  test('left and shutdown reach the primary, and a worker\'s death (kill -9) is noted', async () => {
    const daemon = await startDaemon(['-d'], { workers: 1 });
    try {
      const leaving = await openViewer(daemon.port, '/reasons');
      leaving.close();
      await waitForExit(daemon, sessionOf(leaving), 'left');

      const crashed = await openViewer(daemon.port, '/reasons');
      await waitFor(() => daemon.stderr().includes(`entry ${sessionOf(crashed)} `), 3000, 'the entry');
      const [worker] = daemon.workerPids();
      process.kill(worker!, 'SIGKILL');
      // The attendance log closes its rows as crash in the database (attendance-daemon.test.ts); the registry drops them.
      await waitFor(() => /worker \d+ gone: its open sessions end as crash/.test(daemon.stderr()), 5000, 'the crash');

      await waitFor(() => daemon.workerPids().length === 1 && daemon.workerPids()[0] !== worker, 5000, 'the respawned worker');
      // The worker's own debug line: the primary announces only the first time all workers listen.
      await waitFor(() => (daemon.stderr().match(/worker \d+ listening on/g) ?? []).length >= 2, 5000, 'the new worker to listen');
      const stopped = await openViewer(daemon.port, '/reasons');
      await waitFor(() => daemon.stderr().includes(`entry ${sessionOf(stopped)} `), 3000, 'the entry');
      assert.equal(await daemon.stop(), 0);
      // Reported by its worker, or, when the worker went first, ended as shutdown by the attendance log's close
      // (attendance-daemon.test.ts reads the rows).
      assert.match(daemon.stderr(), new RegExp(`exit ${sessionOf(stopped)} reason=shutdown|worker \\d+ gone: its open sessions end as shutdown`));
    } finally {
      await daemon.stop();
    }
  });

  test('max-duration when --max-conn-duration ends the stream', async () => {
    const daemon = await startDaemon(['-d', '--max-conn-duration', '1'], { workers: 1 });
    try {
      const viewer = await openViewer(daemon.port, '/short');
      await viewer.waitForEnd(4000);
      await waitForExit(daemon, sessionOf(viewer), 'max-duration');
    } finally {
      await daemon.stop();
    }
  });
});
