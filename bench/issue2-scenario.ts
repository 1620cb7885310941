// The BENCHMARKS.md scenario: start the daemon, hold 10,000 concurrent SSE viewers over 10
// namespaces, measure idle and loaded RSS, bytes per viewer and notification fan-out time to
// every viewer, stop everything. With --repeat N it does this N times, each with a fresh daemon,
// and also prints the medians.
//
//   npm run build && node dist/bench/issue2-scenario.js [--viewers 10000] [--namespaces 10] \
//        [--workers 2] [--runs 5] [--repeat 1] [--daemon-log /tmp/am.log]

import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { canConnect, freePorts, readStats, sleep } from './daemon-io.js';
import { processTree } from './proc-mem.js';
import { type LoadResult, intOpt, loadOptionSpec, loadOptionsFrom, loadRows, median, runLoad, table } from './sse-load.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url)); // dist/bench/ → repo
const HOST = '127.0.0.1';

interface Daemon {
  child: ChildProcess;
  pid: number;
  port: number;
  statsPort: number;
  notificationPort: number;
  tail: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isExited: () => boolean;
}

interface ScenarioRun extends LoadResult {
  daemon: { workers: number; startMs: number; stopMs: number; exitCode: number | null; signal: string | null; logTail: string[] };
  /** One-minute load average before the daemon started: other work on the machine skews timings. */
  loadavgAtStart: number;
}

async function startDaemon(bin: string, workers: number, extra: string[], logPath: string | undefined): Promise<Daemon> {
  const [port, statsPort, notificationPort] = await freePorts(3);
  const args = [
    bin,
    '--port', String(port),
    '--stats-port', String(statsPort),
    '--notification-port', String(notificationPort),
    '--demo-port', '0',
    '--workers', String(workers),
    ...extra,
  ];
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, HOST, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const log = logPath ? createWriteStream(logPath, { flags: 'a' }) : undefined;
  log?.write(`---- ${new Date().toISOString()} node ${args.join(' ')}\n`);
  const keep = (chunk: Buffer) => {
    log?.write(chunk);
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      tail.push(line);
      if (tail.length > 40) tail.shift();
    }
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited = false;
  const exitPromise = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true;
      log?.end();
      resolve({ code, signal });
    }),
  );
  if (child.pid === undefined) throw new Error(`could not spawn ${bin}`);
  return { child, pid: child.pid, port, statsPort, notificationPort, tail, exited: exitPromise, isExited: () => exited };
}

/** Waits until the public and stats ports answer and all workers exist, then lets it settle. */
async function waitDaemonReady(d: Daemon, workers: number, timeoutMs: number): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (d.isExited()) throw new Error(`daemon exited during start-up:\n${d.tail.join('\n')}`);
    const up =
      (await canConnect(HOST, d.port)) &&
      (await readStats(HOST, d.statsPort).then(() => true, () => false)) &&
      processTree(d.pid).length >= workers + 1;
    if (up) break;
    if (Date.now() - start > timeoutMs) throw new Error(`daemon not ready within ${timeoutMs} ms:\n${d.tail.join('\n')}`);
    await sleep(200);
  }
  await sleep(2000); // let workers finish start-up allocations before the idle reading
}

/** SIGTERM, then SIGKILL to the whole tree if it has not exited after 15 s. */
async function stopDaemon(d: Daemon): Promise<{ ms: number; code: number | null; signal: string | null }> {
  const start = Date.now();
  const tree = processTree(d.pid);
  if (!d.isExited()) d.child.kill('SIGTERM');
  const timer = sleep(15_000).then(() => undefined);
  let r = await Promise.race([d.exited, timer]);
  if (r === undefined) {
    for (const pid of tree) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    r = await d.exited;
  }
  // Workers must not outlive the primary.
  for (const pid of tree.slice(1)) {
    try {
      process.kill(pid, 0);
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone, as it should be */
    }
  }
  return { ms: Date.now() - start, code: r.code, signal: r.signal };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...loadOptionSpec,
      workers: { type: 'string', default: '2' },
      repeat: { type: 'string', default: '1' },
      daemon: { type: 'string', default: 'bin/audience-meter' },
      'daemon-arg': { type: 'string', multiple: true, default: [] },
      'daemon-log': { type: 'string' },
    },
    strict: true,
  });
  const base = loadOptionsFrom(values);
  const workers = intOpt(values, 'workers', 1, 64);
  const repeat = intOpt(values, 'repeat', 1, 20);
  const bin = fileURLToPath(new URL(values.daemon!, pathToFileURL(repoRoot)));
  const extra = values['daemon-arg'] ?? [];

  let daemon: Daemon | undefined;
  const killDaemon = () => {
    if (daemon && !daemon.isExited()) for (const pid of processTree(daemon.pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  };
  process.on('exit', killDaemon);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));
  setTimeout(() => {
    process.stderr.write(`issue2-scenario: --max-seconds ${base.maxSeconds} reached, giving up\n`);
    process.exit(3);
  }, base.maxSeconds * 1000).unref();

  const runs: ScenarioRun[] = [];
  for (let k = 0; k < repeat; k++) {
    base.log(`== scenario ${k + 1}/${repeat}: ${base.viewers} viewers, ${base.namespaces.length} namespaces, ${workers} workers`);
    const loadavgAtStart = Math.round(loadavg()[0] * 100) / 100;
    const t0 = Date.now();
    daemon = await startDaemon(bin, workers, extra, values['daemon-log']);
    await waitDaemonReady(daemon, workers, 30_000);
    const startMs = Date.now() - t0;
    // Each repeat uses fresh source addresses, so ports still in TIME_WAIT from the previous
    // repeat's viewers are never in the way.
    const swarms = Math.ceil(base.viewers / base.perSwarm);
    const sourceBase = base.sourceBase + ((k * (swarms + 1)) % Math.max(1, 250 - base.sourceBase - swarms));
    const load = await runLoad({
      ...base,
      sourceBase,
      port: daemon.port,
      statsPort: daemon.statsPort,
      notificationPort: daemon.notificationPort,
      daemonPid: daemon.pid,
    });
    if (daemon.isExited()) load.problems.push('daemon exited during the test');
    const stop = await stopDaemon(daemon);
    if (stop.code !== 0) load.problems.push(`daemon exit after SIGTERM: code ${stop.code}, signal ${stop.signal}, ${stop.ms} ms`);
    runs.push({
      ...load,
      daemon: { workers, startMs, stopMs: stop.ms, exitCode: stop.code, signal: stop.signal, logTail: daemon.tail.slice(-15) },
      loadavgAtStart,
    });
    const rows = loadRows(load);
    rows.splice(1, 0, ['daemon start / stop', `${startMs} ms / ${stop.ms} ms (exit ${stop.code ?? stop.signal})`]);
    rows.splice(2, 0, ['machine load average at start', String(loadavgAtStart)]);
    process.stdout.write(`${JSON.stringify(runs[k])}\n\n${table(rows)}\n\n`);
    if (k + 1 < repeat) await sleep(2000);
  }

  if (repeat > 1) {
    const pick = (f: (r: ScenarioRun) => number | undefined) => median(runs.map((r) => f(r) ?? NaN));
    const summary = {
      repeat,
      viewers: base.viewers,
      namespaces: base.namespaces.length,
      workers,
      idleRssKiB: pick((r) => r.memory?.idleRssKiB),
      loadedRssKiB: pick((r) => r.memory?.loadedRssKiB),
      bytesPerViewerRss: pick((r) => r.memory?.bytesPerViewerRss),
      bytesPerViewerPss: pick((r) => r.memory?.bytesPerViewerPss),
      fanoutLastMs: pick((r) => r.fanoutMedian?.lastMs),
      fanoutP50Ms: pick((r) => r.fanoutMedian?.p50Ms),
      fanoutP99Ms: pick((r) => r.fanoutMedian?.p99Ms),
      connectMs: pick((r) => r.connect.ms),
      problems: runs.flatMap((r, k) => r.problems.map((p) => `run ${k + 1}: ${p}`)),
    };
    process.stdout.write(`${JSON.stringify({ summary })}\n\n`);
    process.stdout.write(
      `${table([
        [`median of ${repeat} runs`, `${summary.viewers} viewers, ${summary.namespaces} namespaces, ${workers} workers`],
        ['idle RSS', `${(summary.idleRssKiB / 1024).toFixed(1)} MiB`],
        ['RSS loaded', `${(summary.loadedRssKiB / 1024).toFixed(1)} MiB`],
        ['bytes per viewer', `${summary.bytesPerViewerRss} B RSS, ${summary.bytesPerViewerPss} B PSS`],
        ['fan-out to last viewer', `${summary.fanoutLastMs.toFixed(1)} ms (p50 ${summary.fanoutP50Ms.toFixed(1)}, p99 ${summary.fanoutP99Ms.toFixed(1)})`],
        ['all connected after', `${summary.connectMs} ms`],
        ...summary.problems.map((p): [string, string] => ['PROBLEM', p]),
      ])}\n`,
    );
  }
  process.exitCode = runs.every((r) => r.problems.length === 0) ? 0 : 1;
}

main().catch((err) => {
  process.stderr.write(`issue2-scenario: ${(err as Error).stack ?? err}\n`);
  process.exit(2);
});
