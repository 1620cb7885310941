// Counting through the real daemon: viewers on several workers and namespaces, leaving, pushes,
// namespace garbage collection, --increment-delay and --max-conn-duration.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { members, readStats, sleep, startDaemon, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { SseClient, openViewer } from './helpers/sse-client.js';

const FAST = ['--notify-min-delay', '0.1', '--notify-max-delay', '30', '--notify-delta-ratio', '0'];

describe('counting across workers and namespaces', () => {
  let daemon: Daemon;
  before(async () => { daemon = await startDaemon([...FAST, '--namespace-clean-delay', '1'], { workers: 2 }); });
  after(async () => { await daemon.stop(); });

  test('the stream answers with SSE headers and the first count includes the new viewer', async () => {
    const first = await openViewer(daemon.port, '/show');
    assert.equal(first.status, 200);
    assert.equal(first.headers['content-type'], 'text/event-stream');
    assert.equal(first.headers['cache-control'], 'no-cache');
    assert.equal(first.headers['access-control-allow-origin'], '*');
    assert.equal(first.counts()[0], 1, 'the first event counts the new viewer (a push may follow)');
    await waitForMembers(daemon, 'show', 1);
    const second = await openViewer(daemon.port, '/show');
    assert.equal(second.counts()[0], 2);
    // The first viewer is told about the second by a push.
    await first.waitForCount(2);
    first.close();
    second.close();
    await waitForMembers(daemon, 'show', 0);
  });

  test('counts are exact across workers and namespaces, and leaving is counted', async () => {
    const viewers: SseClient[] = [];
    for (let i = 0; i < 12; i++) viewers.push(new SseClient(daemon.port, `/ns-${i % 3}`, i % 2 ? { method: 'POST' } : undefined));
    await Promise.all(viewers.map((v) => v.waitForEvents(1)));
    for (const ns of ['ns-0', 'ns-1', 'ns-2']) await waitForMembers(daemon, ns, 4);
    const stats = await daemon.stats();
    assert.equal(stats['ns-0']!.connections, 4);
    // Everyone converges on the true count through pushes.
    await Promise.all(viewers.map((v) => v.waitForCount(4)));

    // Viewers 0, 3, 6 and 9 watch ns-0.
    viewers[0]!.close();
    viewers[3]!.close();
    await waitForMembers(daemon, 'ns-0', 2);
    await waitForMembers(daemon, 'ns-1', 4);
    await viewers[6]!.waitForCount(2);
    for (const v of viewers) v.close();
    for (const ns of ['ns-0', 'ns-1', 'ns-2']) await waitForMembers(daemon, ns, 0);
    assert.equal((await daemon.stats())['ns-0']!.connections, 4, 'connections count every join since creation');
  });

  test('the stats object has the 2.x fields, in UNIX seconds', async () => {
    const viewer = await openViewer(daemon.port, '/fields');
    await waitForMembers(daemon, 'fields', 1);
    // The first push of a namespace happens at the next check and sets `modified`.
    await waitFor(async () => (await daemon.stats()).fields!.modified > 0, 2000, 'the first push');
    const entry = (await daemon.stats()).fields!;
    const now = Math.floor(Date.now() / 1000);
    assert.deepEqual(Object.keys(entry).sort(), ['connections', 'created', 'members', 'modified', 'users']);
    assert.ok(Math.abs(entry.created - now) <= 2, `created ${entry.created} is about now (${now})`);
    assert.ok(entry.modified >= entry.created, 'modified is the time of the last push');
    viewer.close();
  });

  test('an empty namespace is deleted after --namespace-clean-delay, and not while watched', async () => {
    const viewer = await openViewer(daemon.port, '/gc');
    await waitForMembers(daemon, 'gc', 1);
    await sleep(1500);
    assert.ok('gc' in (await daemon.stats()), 'a watched namespace stays');
    viewer.close();
    await waitForMembers(daemon, 'gc', 0);
    assert.ok('gc' in (await daemon.stats()), 'kept right after emptying');
    await sleep(2500);
    assert.equal('gc' in (await daemon.stats()), false, 'deleted after the clean delay');
  });

  test('percent-encoded names are decoded', async () => {
    const viewer = await openViewer(daemon.port, '/caf%C3%A9%20live');
    await waitForMembers(daemon, 'café live', 1);
    viewer.close();
  });
});

describe('push throttling follows --notify-delta-ratio and --notify-max-delay', () => {
  let daemon: Daemon;
  before(async () => {
    daemon = await startDaemon(['--notify-min-delay', '0.2', '--notify-delta-ratio', '0.5', '--notify-max-delay', '2'], { workers: 1 });
  });
  after(async () => { await daemon.stop(); });

  test('small changes wait for the max delay; large ones go out at the next check', async () => {
    const watcher = await openViewer(daemon.port, '/thr');
    const crowd: SseClient[] = [];
    for (let i = 0; i < 3; i++) crowd.push(await openViewer(daemon.port, '/thr'));
    // 1 → 4: at least floor(1 × 0.5) = 0 → 1 changed, so it is pushed promptly.
    await watcher.waitForCount(4, 1500);
    const pushedAt = Date.now();
    // 4 → 5 is below floor(4 × 0.5) = 2: not pushed until the 2 s max delay.
    crowd.push(await openViewer(daemon.port, '/thr'));
    await waitForMembers(daemon, 'thr', 5);
    await sleep(700);
    assert.equal(watcher.lastCount(), 4, 'a change below the delta is held back');
    await watcher.waitForCount(5, 4000);
    assert.ok(Date.now() - pushedAt >= 1500, 'it went out with the max-delay push');
    for (const v of [watcher, ...crowd]) v.close();
  });
});

describe('--increment-delay', () => {
  let daemon: Daemon;
  before(async () => { daemon = await startDaemon([...FAST, '--increment-delay', '1'], { workers: 2 }); });
  after(async () => { await daemon.stop(); });

  test('a viewer is counted only after the delay, and one who leaves sooner never is', async () => {
    const quick = await openViewer(daemon.port, '/inc');
    assert.equal(quick.counts()[0], 1, 'the new viewer sees itself');
    quick.close();
    const stays = await openViewer(daemon.port, '/inc');
    await sleep(400);
    assert.equal(await members(daemon, 'inc'), 0, 'not counted before the delay');
    await waitForMembers(daemon, 'inc', 1, 3000);
    await sleep(800);
    assert.equal(await members(daemon, 'inc'), 1, 'the viewer who left early was never counted');
    assert.equal((await daemon.stats()).inc!.connections, 1);
    stays.close();
  });
});

describe('--max-conn-duration', () => {
  let daemon: Daemon;
  before(async () => { daemon = await startDaemon([...FAST, '--max-conn-duration', '1'], { workers: 2 }); });
  after(async () => { await daemon.stop(); });

  test('a stream is ended after the maximum duration and leaves the count', async () => {
    const viewer = await openViewer(daemon.port, '/dur');
    await waitForMembers(daemon, 'dur', 1);
    await viewer.waitForEnd(4000);
    await waitForMembers(daemon, 'dur', 0);
  });
});

describe('stats port with many namespaces', () => {
  let daemon: Daemon;
  before(async () => { daemon = await startDaemon(FAST, { workers: 2 }); });
  after(async () => { await daemon.stop(); });

  test('10,000 namespaces come out as one valid JSON object', async () => {
    const viewers: SseClient[] = [];
    // One stream per namespace, opened in batches and closed in turn to keep the open sockets few;
    // closed namespaces stay in the stats for --namespace-clean-delay (60 s).
    const names = Array.from({ length: 10_000 }, (_, i) => `many-${i}`);
    for (let i = 0; i < names.length; i += 500) {
      const batch = names.slice(i, i + 500).map((ns) => new SseClient(daemon.port, `/${ns}`));
      await Promise.all(batch.map((v) => v.waitForEvents(1, 20_000)));
      viewers.push(...batch);
      if (viewers.length >= 2000) for (const v of viewers.splice(0, 500)) v.close();
    }
    let counted = 0;
    await waitFor(async () => {
      const stats = await readStats(daemon.statsPort);
      counted = names.filter((ns) => stats[ns]?.connections === 1).length;
      return counted === 10_000;
    }, 5000, 'every namespace in the stats').catch(() => undefined);
    assert.equal(counted, 10_000);
    for (const v of viewers) v.close();
  });
});
