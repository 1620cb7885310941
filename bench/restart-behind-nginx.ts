// Issue 10: how long after a daemon restart behind nginx until every viewer is counted again, and how
// spread out their reconnections are. 1,000 browser-like SSE viewers (browser-like-viewers.ts: they honour
// `retry:`, and back off after a 502 as audience.js does) watch one namespace through the nginx of
// docs/proxies.md; the daemon gets SIGTERM and is started again on the same ports; the stats port is
// polled until the count is whole again. The same run then repeats the restart with viewers that ignore
// `retry:` (every one waits Chromium's default 3 s, as when the daemon sent no jittered retry) for the
// ratio of the peak reconnection rates.
//
//   node dist/bench/restart-behind-nginx.js [--viewers 1000] [--repeat 3] [--max-load 2.5] [--max-others 0.5]

import { percentile, log, runMain, runsTable, repeated, CpuMeter, intFlag, round, fmtInt, type Metric } from './run-kit.js';
import { parseScenario, quietMetrics, report, runProblems } from './scenario-kit.js';
import { canConnect, readStats, sleep } from './daemon-io.js';
import { HOST, type Target } from './targets.js';
import { BrowserLikeViewer } from './browser-like-viewers.js';
// The nginx the tests run, with the configuration read from docs/proxies.md: the figure is for that config.
import { startNginx } from '../test/helpers/nginx.js';

const NS = 'restart';
const PER_ADDRESS = 100;
const BACK_TIMEOUT_MS = 60_000;
const PEAK_WINDOW_MS = 100;

const s = parseScenario('restart-behind-nginx', { viewers: { type: 'string', default: '1000' } }, { deadlineSeconds: (max) => max });
const viewerCount = intFlag(s.values as Record<string, unknown>, 'viewers', 1, 5000);

interface Restart {
  /** SIGTERM until the old daemon has exited (every stream ended, every exit written). */
  exitMs: number;
  /** SIGTERM until the new daemon's public port accepts connections. */
  downMs: number;
  /** SIGTERM until the stats show every viewer again. */
  allBackMs: number;
  /** Each viewer's first new stream, ms after SIGTERM. */
  reconnectMs: number[];
  /** The most reconnections within any PEAK_WINDOW_MS. */
  peak: number;
  refusals: number;
}

interface RunResult {
  honoured: Restart;
  fixed: Restart;
  cpu: ReturnType<CpuMeter['end']>;
  problems: string[];
}

async function membersNow(statsPort: number): Promise<number> {
  try {
    return (await readStats(HOST, statsPort, 1000))[NS]?.members ?? 0;
  } catch {
    return -1; // down
  }
}

async function waitMembers(statsPort: number, n: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if ((await membersNow(statsPort)) === n) return true;
    await sleep(50);
  }
  return false;
}

function peakOf(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= PEAK_WINDOW_MS) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

/** Viewers connect, the daemon restarts, and the viewers come back: the measure of one restart. */
async function restartOnce(first: Target, honourRetry: boolean, problems: string[], sourceBase: number): Promise<{ restart: Restart; daemon: Target }> {
  const nginx = await startNginx(first.port);
  const viewers = Array.from({ length: viewerCount }, (_, k) =>
    new BrowserLikeViewer(HOST, nginx.port, `/${NS}`, `127.0.0.${sourceBase + Math.floor(k / PER_ADDRESS)}`, honourRetry));
  let daemon = first;
  try {
    for (const v of viewers) v.open();
    if (!(await waitMembers(first.statsPort!, viewerCount, 30_000))) throw new Error(`${viewerCount} viewers not counted before the restart`);
    const ports = { port: first.port, statsPort: first.statsPort!, notificationPort: first.notificationPort! };
    const sigterm = Date.now();
    const stop = await first.stop();
    if (stop.code !== 0) problems.push(`daemon exit after SIGTERM: code ${stop.code}`);
    const exitedAt = Date.now();
    const starting = s.startDaemon({ ports });
    // The public port accepts once a worker listens, before startAudienceMeter has settled.
    let listeningAt = 0;
    const back = (async () => {
      for (;;) {
        if (listeningAt === 0 && (await canConnect(HOST, ports.port, 200))) listeningAt = Date.now();
        if ((await membersNow(ports.statsPort)) === viewerCount) return Date.now();
        if (Date.now() - sigterm > BACK_TIMEOUT_MS) return NaN;
        await sleep(20);
      }
    })();
    daemon = await starting;
    const allBackAt = await back;
    if (!Number.isFinite(allBackAt)) problems.push(`not all ${viewerCount} viewers back within ${BACK_TIMEOUT_MS} ms`);
    const reconnectMs = viewers.map((v) => (v.openedAt.find((t) => t > sigterm) ?? NaN) - sigterm);
    const restart = {
      exitMs: exitedAt - sigterm,
      downMs: listeningAt - sigterm,
      allBackMs: allBackAt - sigterm,
      reconnectMs,
      peak: peakOf(reconnectMs.filter(Number.isFinite)),
      refusals: viewers.reduce((sum, v) => sum + v.refusals, 0),
    };
    return { restart, daemon };
  } finally {
    for (const v of viewers) v.stop();
    await nginx.stop();
  }
}

/** One run: a restart with viewers that honour `retry:`, then one with viewers that ignore it. */
async function run(attempt: number): Promise<RunResult> {
  const problems: string[] = [];
  const sourceBase = 2 + ((attempt * 2 * Math.ceil(viewerCount / PER_ADDRESS)) % 150);
  let current = await s.startDaemon();
  const cpuMeter = new CpuMeter(() => [current.pid]);
  try {
    const a = await restartOnce(current, true, problems, sourceBase);
    current = a.daemon;
    await waitMembers(current.statsPort!, 0, 10_000);
    const b = await restartOnce(current, false, problems, sourceBase + Math.ceil(viewerCount / PER_ADDRESS));
    current = b.daemon;
    return { honoured: a.restart, fixed: b.restart, cpu: cpuMeter.end(), problems };
  } finally {
    const stop = await current.stop();
    if (stop.code !== 0) problems.push(`daemon exit after SIGTERM: code ${stop.code}`);
  }
}

runMain(s.name, async () => {
  const runs = await repeated({ ...s.quiet, repeat: s.repeat }, (_k, attempt) => run(attempt));
  const ms = (x: number) => `${fmtInt(x)} ms`;
  const spread = (r: Restart, p: number) => percentile(r.reconnectMs, p);
  const metrics: Array<Metric<(typeof runs)[number]>> = [
    { label: 'old daemon exited (from SIGTERM)', get: (r) => r.honoured.exitMs, fmt: ms },
    { label: 'new daemon accepts (from SIGTERM)', get: (r) => r.honoured.downMs, fmt: ms },
    { label: `all ${viewerCount} counted again (from SIGTERM)`, get: (r) => r.honoured.allBackMs, fmt: ms },
    { label: 'all counted again, after the new daemon accepts', get: (r) => r.honoured.allBackMs - r.honoured.downMs, fmt: ms },
    { label: 'reconnection, first viewer', get: (r) => spread(r.honoured, 0), fmt: ms },
    { label: 'reconnection, median viewer', get: (r) => spread(r.honoured, 50), fmt: ms },
    { label: 'reconnection, 90th percentile', get: (r) => spread(r.honoured, 90), fmt: ms },
    { label: 'reconnection, last viewer', get: (r) => spread(r.honoured, 100), fmt: ms },
    { label: 'spread (last − first reconnection)', get: (r) => spread(r.honoured, 100) - spread(r.honoured, 0), fmt: ms },
    { label: `peak reconnections in ${PEAK_WINDOW_MS} ms`, get: (r) => r.honoured.peak, fmt: fmtInt },
    { label: '502s answered (each one retried by the backoff)', get: (r) => r.honoured.refusals, fmt: fmtInt },
    { label: 'same, retry: ignored: all counted again', get: (r) => r.fixed.allBackMs, fmt: ms },
    { label: 'same, retry: ignored: after the daemon accepts', get: (r) => r.fixed.allBackMs - r.fixed.downMs, fmt: ms },
    { label: `same, retry: ignored: peak in ${PEAK_WINDOW_MS} ms`, get: (r) => r.fixed.peak, fmt: fmtInt },
    { label: 'peak ratio (ignored / honoured)', get: (r) => round(r.fixed.peak / r.honoured.peak, 1), fmt: (x) => x.toFixed(1) },
    ...quietMetrics<(typeof runs)[number]>(),
  ];
  const { rows, medians } = runsTable(runs, metrics);
  log(`${runs.length} runs`);
  report(s, {
    fields: { viewers: viewerCount, workers: s.workers },
    rows,
    medians,
    problems: runProblems(runs),
    runs: runs.map((r) => ({ ...r, honoured: { ...r.honoured, reconnectMs: undefined }, fixed: { ...r.fixed, reconnectMs: undefined } })),
    title: `Restart behind nginx: ${viewerCount} browser-like SSE viewers, ${s.workers} workers`,
  });
});
