// Workers that die, clean shutdown, and no process left behind.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { ALTERNATE_WORKERS, childPids, isAlive, sleep, startDaemon, waitFor, waitForMembers } from './helpers/daemon.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';

test('kill -9 of a worker: its viewers stop counting at once and the worker is respawned', async (t) => {
  const daemon = await startDaemon(['--notify-min-delay', '0.1'], { workers: 2, env: ALTERNATE_WORKERS });
  try {
    const viewers: SseClient[] = [];
    for (let i = 0; i < 8; i++) viewers.push(await openViewer(daemon.port, '/crash'));
    await waitForMembers(daemon, 'crash', 8);
    const [victim, survivor] = daemon.workerPids();
    assert.ok(victim && survivor, 'two workers');
    const killedAt = Date.now();
    process.kill(victim, 'SIGKILL');
    // The victim's viewers lose their connection; the count must match the ones still open.
    await waitFor(() => viewers.some((v) => v.ended), 3000, 'the victim\'s viewers to be cut');
    const open = (): number => viewers.filter((v) => !v.ended).length;
    await waitFor(async () => (await daemon.stats()).crash?.members === open(), 3000, 'the count to match the open streams');
    t.diagnostic(`count true again ${Date.now() - killedAt} ms after the kill`);
    assert.ok(open() > 0 && open() < 8, `viewers were spread over both workers (${open()} left)`);

    await waitFor(() => daemon.workerPids().length === 2, 5000, 'a respawned worker');
    assert.equal(daemon.workerPids().includes(victim), false);
    assert.match(daemon.stderr(), new RegExp(`worker \\d+ \\(pid ${victim}\\) died \\(signal SIGKILL\\); respawning`));
    // The new worker counts: enough new viewers that some land on it.
    const more: SseClient[] = [];
    for (let i = 0; i < 4; i++) more.push(await openViewer(daemon.port, '/crash'));
    await waitForMembers(daemon, 'crash', open() + 4);
    for (const v of [...viewers, ...more]) v.close();
  } finally {
    await daemon.stop();
  }
});

/** Whether a TCP connection to the port is accepted now. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); });
    socket.on('error', () => resolve(false));
  });
}

test('a worker kill loop (each respawned worker killed again) keeps the daemon up and counting', async () => {
  const daemon = await startDaemon(['--notify-min-delay', '0.1'], { workers: 2, env: ALTERNATE_WORKERS });
  try {
    // Eight deaths in a row, below the crash-loop threshold (more than 10 within 10 s) that gives up.
    for (let kill = 1; kill <= 8; kill++) {
      const [victim] = daemon.workerPids();
      process.kill(victim!, 'SIGKILL');
      await waitFor(() => daemon.workerPids().length === 2 && !daemon.workerPids().includes(victim!), 5000, `the respawn after kill ${kill}`);
    }
    assert.equal(daemon.stderr().match(/died \(signal SIGKILL\); respawning/g)?.length, 8);
    assert.ok(isAlive(daemon.process.pid!), 'the primary is up');
    const viewers: SseClient[] = [];
    // The last two were killed before they listened: the port is closed until their successors listen.
    await waitFor(() => accepts(daemon.port), 5000, 'a respawned worker to listen');
    for (let i = 0; i < 4; i++) viewers.push(await openViewer(daemon.port, '/after-the-loop'));
    await waitForMembers(daemon, 'after-the-loop', 4);
    for (const viewer of viewers) viewer.close();
  } finally {
    await daemon.stop();
  }
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal}: streams end, every process exits, status 0`, async () => {
    const daemon = await startDaemon([], { workers: 2 });
    const viewers = await Promise.all([1, 2, 3].map(() => openViewer(daemon.port, '/bye')));
    const pids = [daemon.process.pid!, ...daemon.workerPids()];
    assert.equal(pids.length, 3);
    const stoppedAt = Date.now();
    daemon.process.kill(signal);
    assert.equal(await daemon.exited, 0);
    assert.ok(Date.now() - stoppedAt < 5000, 'exits within the 5 s the README promises');
    await Promise.all(viewers.map((v) => v.waitForEnd(1000)));
    for (const pid of pids) assert.equal(isAlive(pid), false, `pid ${pid} is gone`);
  });
}

test('kill -9 of the primary: the workers notice and exit, leaving no orphans', async () => {
  const daemon = await startDaemon([], { workers: 2 });
  const workers = daemon.workerPids();
  assert.equal(workers.length, 2);
  daemon.process.kill('SIGKILL');
  await daemon.exited;
  await waitFor(() => workers.every((pid) => !isAlive(pid)), 5000, 'the workers to exit');
  assert.deepEqual(childPids(daemon.process.pid!), []);
});

test('process titles name the role', async () => {
  const daemon = await startDaemon([], { workers: 1 });
  try {
    const { readFileSync } = await import('node:fs');
    const cmdline = (pid: number): string => readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    await sleep(100);
    assert.match(cmdline(daemon.process.pid!), /^audience-meter: primary/);
    assert.match(cmdline(daemon.workerPids()[0]!), /^audience-meter: worker/);
  } finally {
    await daemon.stop();
  }
});

// 200 files, counting ~32 a worker holds besides sockets: the warning is due at 80 % of them (128 viewers);
// the worker stops accepting with 32 files left (136 viewers) and accepts again with 64 free (104 viewers).
const FILE_LIMIT = 200;
const WARNED_AT = 128;
const PAUSED_AT = 136;
const RESUMED_AT = 104;

test('a worker near its open-file limit warns in the log', async () => {
  const daemon = await startDaemon([], { workers: 1, fileLimit: FILE_LIMIT });
  const viewers: SseClient[] = [];
  try {
    for (let i = 0; i < WARNED_AT + 2; i++) viewers.push(await openViewer(daemon.port, '/files'));
    await waitFor(() => /warning: worker \d+ holds \d+ connections, \d+% of its 200 open files/.test(daemon.stderr()), 5000, 'the warning');
    await waitForMembers(daemon, 'files', WARNED_AT + 2);
    assert.doesNotMatch(daemon.stderr(), /stopped accepting/);
  } finally {
    for (const v of viewers) v.close();
    await daemon.stop();
  }
});

/** Resolves with the connect error's code, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve('connected'); });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

test('a worker at its open-file limit stops accepting, and accepts again once viewers have left', async () => {
  const daemon = await startDaemon([], { workers: 1, fileLimit: FILE_LIMIT });
  const viewers: SseClient[] = [];
  try {
    // One at a time, until the port refuses: the one worker of the node is full, so nobody takes the viewer.
    // Before, the worker accepted past its limit and libuv closed what waited in the backlog (resets).
    while (viewers.length < FILE_LIMIT && await tryConnect(daemon.port) === 'connected') viewers.push(await openViewer(daemon.port, '/full'));
    assert.ok(viewers.length >= PAUSED_AT && viewers.length <= PAUSED_AT + 16, `paused near ${PAUSED_AT} viewers, not at ${viewers.length}`);
    assert.equal(await tryConnect(daemon.port), 'ECONNREFUSED');
    assert.match(daemon.stderr(), /worker \d+ stopped accepting viewers at \d+ connections \(open-file limit 200\)/);
    await waitForMembers(daemon, 'full', viewers.length);

    while (viewers.length > RESUMED_AT) viewers.pop()!.close();
    await waitFor(async () => await tryConnect(daemon.port) === 'connected', 5000, 'the port to accept again');
    assert.match(daemon.stderr(), /worker \d+ accepts viewers again/);
    viewers.push(await openViewer(daemon.port, '/full'));
    await waitForMembers(daemon, 'full', viewers.length);
  } finally {
    for (const v of viewers) v.close();
    await daemon.stop();
  }
});

test('a crowd larger than one worker can hold is spread over the others, none refused', async () => {
  const daemon = await startDaemon([], { workers: 2, fileLimit: FILE_LIMIT });
  const crowd = 2 * PAUSED_AT - 20;
  const viewers: SseClient[] = [];
  try {
    // In waves, as a crowd comes: the kernel gives each to whichever worker asks first, not evenly.
    for (let wave = 0; viewers.length < crowd; wave++) {
      viewers.push(...await Promise.all(Array.from({ length: Math.min(40, crowd - viewers.length) }, () => openViewer(daemon.port, '/crowd'))));
    }
    await waitForMembers(daemon, 'crowd', crowd);
    assert.equal(viewers.filter((v) => v.ended).length, 0, 'no stream was cut');
  } finally {
    for (const v of viewers) v.close();
    await daemon.stop();
  }
});
