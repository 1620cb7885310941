// /metrics as Prometheus and promtool read it: valid exposition (promtool check metrics), counters as
// counters, per-namespace series for the busiest namespaces only (--metrics-namespaces), and per-worker
// series that read 0 rather than vanish when a worker dies and is respawned.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { ALTERNATE_WORKERS, startDaemon, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { httpRequest } from './helpers/http.js';
import { parseExposition, seriesOf, type Exposition } from './helpers/metrics.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';
import { skipWithout } from './helpers/tools.js';

async function scrape(daemon: Daemon): Promise<{ text: string } & Exposition> {
  const reply = await httpRequest(daemon.notificationPort, '/metrics');
  assert.equal(reply.status, 200);
  return { text: reply.body, ...parseExposition(reply.body) };
}

/** Namespace → viewers, as many streams as asked. */
async function watch(daemon: Daemon, audience: Record<string, number>, into: SseClient[]): Promise<void> {
  for (const [ns, count] of Object.entries(audience)) {
    for (let i = 0; i < count; i++) into.push(await openViewer(daemon.port, `/${ns}`));
  }
  for (const [ns, count] of Object.entries(audience)) await waitForMembers(daemon, ns, count);
}

describe('/metrics', () => {
  let daemon: Daemon;
  const viewers: SseClient[] = [];
  const audience = { 'metrics-big': 4, 'metrics-mid': 3, 'metrics-small': 2, 'metrics-tiny': 1 };

  before(async () => {
    daemon = await startDaemon(['--metrics-namespaces', '3'], { workers: 2, env: ALTERNATE_WORKERS });
    await watch(daemon, audience, viewers);
  });
  after(async () => {
    for (const viewer of viewers) viewer.close();
    await daemon?.stop();
  });

  test('passes promtool check metrics', { skip: skipWithout('promtool', 'prometheus') }, async () => {
    const { text } = await scrape(daemon);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
    assert.equal(`${check.stdout}${check.stderr}`.trim(), '', 'no warnings either');
  });

  test('counters are counters', async () => {
    const { types } = await scrape(daemon);
    for (const name of ['audience_meter_joins_total', 'audience_meter_leaves_total', 'audience_meter_attendance_dropped_total',
      'audience_meter_namespace_joins_total', 'audience_meter_messages_sent_total']) {
      assert.equal(types.get(name), 'counter', name);
    }
    assert.equal(types.get('audience_meter_attendance_dropped'), undefined, 'no gauge of that name any more');
    for (const [name, type] of types) {
      if (name.endsWith('_total')) assert.equal(type, 'counter', `${name} ends in _total`);
    }
  });

  test('the busiest namespaces only, --metrics-namespaces of them, with this node\'s members and joins', async () => {
    const { values } = await scrape(daemon);
    assert.deepEqual(seriesOf(values, 'audience_meter_namespace_members'), new Map([
      ['{namespace="metrics-big"}', 4], ['{namespace="metrics-mid"}', 3], ['{namespace="metrics-small"}', 2],
    ]));
    assert.deepEqual(seriesOf(values, 'audience_meter_namespace_joins_total'), new Map([
      ['{namespace="metrics-big"}', 4], ['{namespace="metrics-mid"}', 3], ['{namespace="metrics-small"}', 2],
    ]));
    assert.equal(values.get('audience_meter_viewers'), 10);
  });

  test('a dead worker\'s series reads 0, then its respawned successor takes the same label', async () => {
    const before = seriesOf((await scrape(daemon)).values, 'audience_meter_worker_connections');
    assert.deepEqual([...before.keys()].sort(), ['{worker="1"}', '{worker="2"}']);
    assert.ok([...before.values()].every((n) => n > 0), 'viewers on both workers');
    const [victim] = daemon.workerPids();
    process.kill(victim!, 'SIGKILL');
    await waitFor(() => viewers.some((v) => v.ended), 5000, 'the victim\'s viewers to be cut');
    const open = (): number => viewers.filter((v) => !v.ended).length;
    await waitFor(async () => {
      const series = seriesOf((await scrape(daemon)).values, 'audience_meter_worker_connections');
      const counts = [...series.values()];
      return series.size === 2 && counts.includes(0) && counts.reduce((a, b) => a + b, 0) === open();
    }, 5000, 'one worker at 0, the other holding every open viewer');
    await waitFor(() => daemon.workerPids().length === 2, 5000, 'the respawned worker');
    const more: SseClient[] = [];
    await watch(daemon, { 'metrics-after': 4 }, more);
    viewers.push(...more);
    const after = seriesOf((await scrape(daemon)).values, 'audience_meter_worker_connections');
    assert.deepEqual([...after.keys()].sort(), ['{worker="1"}', '{worker="2"}'], 'the same two labels, no third');
    assert.equal([...after.values()].reduce((a, b) => a + b, 0), open());
  });
});

test('--metrics-namespaces 0: no per-namespace series', async () => {
  const daemon = await startDaemon(['--metrics-namespaces', '0'], { workers: 1 });
  const viewers: SseClient[] = [];
  try {
    await watch(daemon, { 'metrics-off': 2 }, viewers);
    const { values } = await scrape(daemon);
    assert.equal(seriesOf(values, 'audience_meter_namespace_members').size, 0);
    assert.equal(seriesOf(values, 'audience_meter_namespace_joins_total').size, 0);
    assert.equal(values.get('audience_meter_viewers'), 2);
  } finally {
    for (const viewer of viewers) viewer.close();
    await daemon.stop();
  }
});
