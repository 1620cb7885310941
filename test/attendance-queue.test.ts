// The attendance log's write queue: its bound sized from the node (workers × open-file limit × the two events
// of a session) or set with --attendance-queue, and what /metrics says of it on a real daemon: the depth, the
// high-water mark and the bound, up to the point where events are dropped and counted.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAttendanceQueue } from '../src/attendance/attendance-options.js';
import { defaultQueueBound, MIN_DEFAULT_QUEUE } from '../src/attendance/queue-bound.js';
import { openFileLimit, parseProcLimits } from '../src/open-file-limit.js';
import type { SessionEntry } from '../src/protocol/sessions.js';
import { WriteQueue } from '../src/attendance/write-queue.js';
import { defaults } from '../src/options.js';
import { BIN, freePort, startDaemon, waitFor, type Daemon } from './helpers/daemon.js';
import { httpRequest } from './helpers/http.js';
import { parseExposition } from './helpers/metrics.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';

const PROC_LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                1048576              files
Max locked memory         8388608              8388608              bytes
`;

test('the default bound: 2 events × workers × open-file limit, never below 200,000', () => {
  assert.equal(defaultQueueBound(12, 20_000), 480_000);
  assert.equal(defaultQueueBound(24, 1_048_576), 50_331_648);
  assert.equal(defaultQueueBound(2, 20_000), MIN_DEFAULT_QUEUE, '80,000 is below the floor');
  assert.equal(defaultQueueBound(64, undefined), MIN_DEFAULT_QUEUE, 'an unknown limit gives the floor');
});

test('the open-file limit is the soft one of /proc/<pid>/limits; unlimited or absent is unknown', () => {
  assert.equal(parseProcLimits(PROC_LIMITS), 20_000);
  assert.equal(parseProcLimits(PROC_LIMITS.replace('20000     ', 'unlimited ')), undefined);
  assert.equal(parseProcLimits('Max processes 100 100 processes\n'), undefined);
  // This process's own, as the shell says it (the test runner is a Node process too: the same raised limit).
  const shell = spawnSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim();
  assert.equal(openFileLimit(), Number(shell));
});

test('--attendance-queue: 0 (sized from the node) by default, or 1000 to 100,000,000 events; bad values exit 2 with one line', () => {
  assert.equal(defaults.attendanceQueue, 0);
  assert.equal(parseAttendanceQueue('0'), 0);
  assert.equal(parseAttendanceQueue(' 500000 '), 500_000);
  for (const bad of ['-1', '999', '1.5', 'lots', '', '100000001', '1e6']) {
    assert.throws(() => parseAttendanceQueue(bad), /0 \(sized from the node\) or a whole number of events from 1000 to 100000000/, bad);
  }
  for (const value of ['12', 'big']) {
    const result = spawnSync(process.execPath, [BIN, '--attendance-queue', value], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(result.status, 2);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, new RegExp(`^audience-meter: option '--attendance-queue <events>' argument '${value}' is invalid\\. must be 0`));
  }
});

const entry = (i: number) => ({ session: `s${i}` }) as SessionEntry;

test('the queue keeps arrival order across partial writes, and its high-water mark only grows', () => {
  const queue = new WriteQueue(10);
  for (let i = 0; i < 7; i++) assert.equal(queue.push('enter', entry(i)), true);
  assert.deepEqual(queue.peek(3).entries.map((r) => r.session), ['s0', 's1', 's2']);
  queue.remove(3);
  for (let i = 7; i < 13; i++) queue.push('enter', entry(i));
  assert.equal(queue.length, 10);
  assert.equal(queue.dropped, 0);
  assert.equal(queue.push('enter', entry(13)), false, 'full');
  assert.equal(queue.dropped, 1);
  assert.deepEqual(queue.peek(100).entries.map((r) => r.session), ['s3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 's12']);
  queue.remove(6);
  assert.deepEqual(queue.peek(100).entries.map((r) => r.session), ['s9', 's10', 's11', 's12']);
  queue.remove(100);
  assert.equal(queue.length, 0);
  assert.equal(queue.highWater, 10);
});

async function attendanceMetrics(daemon: Daemon): Promise<Record<string, number | undefined>> {
  const reply = await httpRequest(daemon.notificationPort, '/metrics');
  assert.equal(reply.status, 200);
  const { values, types } = parseExposition(reply.body);
  for (const name of ['audience_meter_attendance_queue_high_water', 'audience_meter_attendance_queue_limit']) assert.equal(types.get(name), 'gauge', name);
  return {
    queue: values.get('audience_meter_attendance_queue'),
    highWater: values.get('audience_meter_attendance_queue_high_water'),
    limit: values.get('audience_meter_attendance_queue_limit'),
    dropped: values.get('audience_meter_attendance_dropped_total'),
    failing: values.get('audience_meter_attendance_failing'),
  };
}

test('a daemon sizes its queue from its workers and its open-file limit, and its high-water mark moves with the viewers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'am-queue-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Six workers: on this kind of machine (20,000 files a process) the product passes the floor.
  const workers = 6;
  const daemon = await startDaemon(['--attendance', join(dir, 'a.db')], { workers });
  const viewers: SseClient[] = [];
  t.after(async () => {
    for (const viewer of viewers) viewer.close();
    await daemon.stop();
  });
  const limit = parseProcLimits(readFileSync(`/proc/${daemon.process.pid}/limits`, 'utf8'));
  const before = await attendanceMetrics(daemon);
  assert.deepEqual(before, { queue: 0, highWater: 0, limit: defaultQueueBound(workers, limit), dropped: 0, failing: 0 });

  for (let i = 0; i < 4; i++) viewers.push(await openViewer(daemon.port, `/queue-${i % 2}`));
  for (const viewer of viewers) viewer.close();
  let after: Awaited<ReturnType<typeof attendanceMetrics>> = {};
  await waitFor(async () => {
    after = await attendanceMetrics(daemon);
    return after.highWater! >= 1 && after.queue === 0;
  }, 10_000, 'the entries to pass through the queue');
  assert.ok(after.highWater! <= 8 + 2, `no more than the 4 entries, 4 exits and 2 namespaces' samples at once: ${after.highWater}`);
  assert.equal(after.dropped, 0);
});

test('with the database away, events wait up to --attendance-queue, the high-water mark reaches it, and the rest are dropped and counted', async (t) => {
  // Nothing listens there: every connection attempt is refused, and the log retries with backoff.
  const away = `postgres://nobody@127.0.0.1:${await freePort()}/none`;
  const daemon = await startDaemon(['--attendance', away, '--attendance-queue', '1000', '--sample-interval', '0.01'], { workers: 1 });
  const viewers: SseClient[] = [];
  t.after(async () => {
    for (const viewer of viewers) viewer.close();
    await daemon.stop();
  });
  // Samples of five namespaces a hundred times a second fill 1000 places in a few seconds.
  for (let i = 0; i < 5; i++) viewers.push(await openViewer(daemon.port, `/away-${i}`));
  let full: Awaited<ReturnType<typeof attendanceMetrics>> = {};
  await waitFor(async () => {
    full = await attendanceMetrics(daemon);
    return full.dropped! > 0;
  }, 20_000, 'the queue to fill');
  assert.equal(full.limit, 1000);
  assert.equal(full.highWater, 1000);
  assert.equal(full.queue, 1000);
  assert.equal(full.failing, 1);
});
