// Issue 3, scenario d: scale. 100,000 concurrent SSE viewers over 10 namespaces on `--workers 6` (each
// process may hold 20,000 open files here): counts exact on the stats port and on every viewer, RSS per
// viewer, fan-out to all 100,000, and the open-file warning: every worker above 80 % of its file limit must
// have said so in the log ("worker N holds C connections, X% of its L open files").
//
//   npm run build && node dist/bench/scenario-scale.js [--repeat 3] [--viewers 100000] [--workers 6]

import { type Metric, fmtInt, fmtMs, intFlag, log, repeated, runMain, runsTable } from './run-kit.js';
import { addressSpan, parseScenario, quietMetrics, report, runProblems, sourceBaseFor, withDaemon } from './scenario-kit.js';
import type { Target } from './targets.js';
import { type ViewerRunResult, runViewers, viewerSpec } from './viewer-run.js';
import { bytes, perS, viewerOptionsFrom } from './viewer-scenario.js';

const WARNING = /worker (\d+) holds (\d+) connections, (\d+)% of its (\d+) open files/;

interface FileCheck {
  /** Worker processes (not the primary): open files and share of the limit at full load. */
  workers: Array<{ pid: number; openFiles: number; limit: number; percent: number }>;
  above80: number;
  /** Distinct worker ids that logged the warning, and the lines. */
  warnedWorkers: number;
  warnings: string[];
  /** Every worker above 80 % has a warning (by count: the log names cluster ids, /proc gives pids). */
  ok: boolean;
}

type ScaleRun = ViewerRunResult & { files: FileCheck; daemonLogTail: string[] };

/** Open files of every worker at full load, against the warnings the daemon logged. */
function fileCheck(target: Target, r: ViewerRunResult): FileCheck {
  const warnings = target.log.filter((l) => WARNING.test(l));
  const warned = new Set(warnings.map((l) => WARNING.exec(l)![1]));
  const ws = r.memory.processes.slice(1).map((p) => ({
    pid: p.pid,
    openFiles: p.openFiles,
    limit: p.fileLimit,
    percent: Math.round((p.openFiles / p.fileLimit) * 1000) / 10,
  }));
  const above80 = ws.filter((w) => w.percent >= 80).length;
  log(`open files per worker: ${ws.map((w) => `${w.openFiles} (${w.percent}%)`).join(', ')}; warnings from ${warned.size} workers`);
  return { workers: ws, above80, warnedWorkers: warned.size, warnings, ok: warned.size >= above80 };
}

async function main(): Promise<void> {
  const s = parseScenario('scenario-scale', {
    ...viewerSpec,
    viewers: { type: 'string', default: '100000' },
    'per-swarm': { type: 'string', default: '12500' },
    workers: { type: 'string', default: '6' },
    'count-wait': { type: 'string', default: '40' },
  });
  const base = viewerOptionsFrom(s.values, s.maxSeconds);
  base.countWaitSeconds = intFlag(s.values, 'count-wait', 0, 600);

  const runs = await repeated<ScaleRun>({ ...s.quiet, repeat: s.repeat }, (_k, attempt) =>
    withDaemon(s, { readyTimeoutMs: 60_000 }, async (target) => {
      const r = await runViewers(target, { ...base, sourceBase: sourceBaseFor(attempt, base.sourceBase, addressSpan(base.viewers, base.perSwarm)) });
      const files = fileCheck(target, r);
      if (!files.ok) r.problems.push(`${files.above80} workers above 80 % of their open files, only ${files.warnedWorkers} warned`);
      return { ...r, files };
    }),
  );

  const metrics: Array<Metric<(typeof runs)[number]>> = [
    { label: 'viewers with a first event', get: (r) => r.accept.viewers, fmt: fmtInt },
    { label: 'stats members (exact?)', get: (r) => r.stats?.members, fmt: fmtInt },
    { label: 'streamed counts exact after', get: (r) => r.streamedCounts?.exactAfterMs ?? undefined, fmt: fmtMs },
    { label: 'idle RSS (MiB)', get: (r) => r.memory.idleRssKiB / 1024, fmt: (x) => x.toFixed(1) },
    { label: 'loaded RSS (MiB)', get: (r) => r.memory.loadedRssKiB / 1024, fmt: (x) => x.toFixed(1) },
    { label: 'memory per viewer (RSS)', get: (r) => r.memory.bytesPerViewerRss, fmt: bytes },
    { label: 'first events per second', get: (r) => r.accept.firstEventsPerSecond, fmt: perS },
    { label: 'message, last viewer', get: (r) => r.fanoutLastMs, fmt: fmtMs },
    { label: 'busiest worker, open files', get: (r) => Math.max(...r.files.workers.map((w) => w.openFiles)), fmt: fmtInt },
    { label: 'quietest worker, open files', get: (r) => Math.min(...r.files.workers.map((w) => w.openFiles)), fmt: fmtInt },
    { label: 'workers at ≥ 80 % of files', get: (r) => r.files.above80, fmt: fmtInt },
    { label: 'workers that logged the warning', get: (r) => r.files.warnedWorkers, fmt: fmtInt },
    { label: 'socket errors', get: (r) => r.totals.errors, fmt: fmtInt },
    ...quietMetrics(),
  ];
  const { rows, medians } = runsTable(runs, metrics);
  report(s, {
    fields: { workers: s.workers, viewers: base.viewers, repeat: s.repeat },
    rows,
    medians,
    problems: runProblems(runs),
    runs,
    title: `scenario-scale: audience-meter, ${s.workers} workers, ${base.viewers.toLocaleString('en-US')} viewers over ${base.namespaces.length} namespaces, ${s.repeat} runs`,
  });
}

runMain('scenario-scale', main);
