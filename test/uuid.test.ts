// --enable-uuid: one stream per uuid across every worker; the registry does not outlive its streams.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { httpStatus } from './helpers/http.js';
import { ALTERNATE_WORKERS, startDaemon, waitForMembers, type Daemon } from './helpers/daemon.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';

describe('--enable-uuid', () => {
  let daemon: Daemon;
  before(async () => { daemon = await startDaemon(['--enable-uuid', '--notify-min-delay', '0.1'], { workers: 2, env: ALTERNATE_WORKERS }); });
  after(async () => { await daemon.stop(); });

  test('a new stream with the same uuid ends the previous one, whichever worker holds it', async () => {
    // Connections alternate between the two workers, so successive streams cross workers.
    let previous: SseClient | undefined;
    for (let i = 0; i < 4; i++) {
      const current = await openViewer(daemon.port, '/uu/user-1');
      if (previous) await previous.waitForEnd(3000);
      assert.equal(current.ended, false, `stream ${i} is still open`);
      previous = current;
      await waitForMembers(daemon, 'uu', 1);
    }
    previous!.close();
    await waitForMembers(daemon, 'uu', 0);
  });

  test('the same uuid in another namespace is the same viewer', async () => {
    const first = await openViewer(daemon.port, '/room-a/user-2');
    const second = await openViewer(daemon.port, '/room-b/user-2');
    await first.waitForEnd(3000);
    await waitForMembers(daemon, 'room-a', 0);
    await waitForMembers(daemon, 'room-b', 1);
    second.close();
  });

  test('different uuids do not exclude each other', async () => {
    const a = await openViewer(daemon.port, '/uu2/a');
    const b = await openViewer(daemon.port, '/uu2/b');
    await waitForMembers(daemon, 'uu2', 2);
    assert.equal(a.ended || b.ended, false);
    a.close();
    b.close();
  });

  test('a plain request to /{ns}/{uuid} ends that uuid\'s streams without opening one', async () => {
    const streams = [await openViewer(daemon.port, '/uu3/kick'), await openViewer(daemon.port, '/uu3/other')];
    await waitForMembers(daemon, 'uu3', 2);
    assert.equal(await httpStatus(daemon.port, '/uu3/kick'), 200);
    await streams[0]!.waitForEnd(3000);
    await waitForMembers(daemon, 'uu3', 1);
    assert.equal(streams[1]!.ended, false);
    streams[1]!.close();
  });

  test('a bad uuid gets 400 with a reason', async () => {
    const viewer = await openViewer(daemon.port, `/uu4/${'u'.repeat(201)}`).catch(() => undefined);
    assert.equal(viewer, undefined);
  });
});
