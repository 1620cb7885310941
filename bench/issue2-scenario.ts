// The BENCHMARKS.md scenario: start the daemon, hold 10,000 concurrent SSE viewers over 10
// namespaces, measure idle and loaded RSS, bytes per viewer and notification fan-out time to
// every viewer, stop everything. With --repeat N it does this N times, each with a fresh daemon,
// and also prints the medians.
//
//   npm run build && node dist/bench/issue2-scenario.js [--viewers 10000] [--namespaces 10] \
//        [--workers 2] [--runs 5] [--repeat 1] [--daemon-log /tmp/am.log]

import { parseArgs } from 'node:util';
import { sleep } from './daemon-io.js';
import { deadline, load1, median, runMain, table } from './run-kit.js';
import { type LoadResult, intOpt, loadOptionSpec, loadOptionsFrom, loadRows, runLoad } from './sse-load.js';
import { startAudienceMeter } from './targets.js';

interface ScenarioRun extends LoadResult {
  daemon: { workers: number; startMs: number; stopMs: number; exitCode: number | null; signal: string | null; logTail: string[] };
  /** One-minute load average before the daemon started: other work on the machine skews timings. */
  loadavgAtStart: number;
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
  const extra = values['daemon-arg'] ?? [];

  deadline('issue2-scenario', base.maxSeconds);

  const runs: ScenarioRun[] = [];
  for (let k = 0; k < repeat; k++) {
    base.log(`== scenario ${k + 1}/${repeat}: ${base.viewers} viewers, ${base.namespaces.length} namespaces, ${workers} workers`);
    const loadavgAtStart = load1();
    const t0 = Date.now();
    const daemon = await startAudienceMeter({ bin: values.daemon, workers, extra, logPath: values['daemon-log'] });
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
    const stop = await daemon.stop();
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

runMain('issue2-scenario', main);
