// Issue 12, item 2: what the primary pays per viewer. Starts audience-meter (defaults, the attendance log on),
// runs the accept ramp of bench/viewer-run.ts (no probes) and prints the primary's own CPU per join over the
// ramp and its RSS per idle viewer (loaded − idle, after the settle time), per run and as medians. Run it at
// two audience sizes: a primary whose cost per join grows with the viewers connected shows it as a higher
// figure for the larger crowd. `--daemon` points at another build (a copy of the tree before a change).
//
//   npm run build && node dist/bench/primary-sessions.js [--viewers 10000] [--workers 2] [--repeat 3] \
//        [--daemon bin/audience-meter] [--daemon-arg=--flag ...]
import { parseArgs } from 'node:util';
import { treeMemory } from './proc-mem.js';
import { sleep } from './daemon-io.js';
import { deadline, emit, intFlag, log, median, procJiffies, round, runMain, type Row } from './run-kit.js';
import { addressSpan, sourceBaseFor } from './scenario-kit.js';
import { startAudienceMeter } from './targets.js';
import { runViewers, viewerSpec } from './viewer-run.js';
import { viewerOptionsFrom } from './viewer-scenario.js';

/** The primary's JS heap in use, from its /metrics (prom-client's default metrics), bytes. */
async function primaryHeapUsed(port: number | undefined): Promise<number> {
  if (port === undefined) return 0;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(/^audience_meter_primary_nodejs_heap_size_used_bytes (\d+)/m.exec(text)?.[1] ?? 0);
}

const IDLE_SAMPLE_MS = 5000;

interface Run {
  viewers: number;
  /** The primary's CPU over the ramp, µs per join. */
  primaryUsPerJoin: number;
  /** The same less the primary's idle CPU rate over the ramp's length. */
  primaryNetUsPerJoin: number;
  primaryIdleCores: number;
  rampSeconds: number;
  workersUsPerJoin: number;
  /** The primary's RSS loaded − idle, bytes per viewer. */
  primaryBytesPerViewer: number;
  /** The primary's JS heap in use, loaded − idle, bytes per viewer (what it retains, less the allocator's slack). */
  primaryHeapPerViewer: number;
  primaryIdleKiB: number;
  primaryLoadedKiB: number;
  loadavgAtStart: number;
  problems: string[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...viewerSpec,
      probes: { type: 'string', default: '0' },
      workers: { type: 'string', default: '2' },
      daemon: { type: 'string', default: 'bin/audience-meter' },
      repeat: { type: 'string', default: '3' },
      'max-seconds': { type: 'string', default: '1800' },
      'daemon-arg': { type: 'string', multiple: true, default: [] },
    },
    strict: true,
  });
  const maxSeconds = intFlag(values, 'max-seconds', 60, 86_400);
  deadline('primary-sessions', maxSeconds);
  const repeat = intFlag(values, 'repeat', 1, 20);
  const workers = intFlag(values, 'workers', 1, 64);
  const base = viewerOptionsFrom(values, maxSeconds);
  const runs: Run[] = [];
  for (let k = 0; k < repeat; k++) {
    log(`== run ${k + 1}/${repeat}`);
    const loadavgAtStart = (await import('node:os')).loadavg()[0]!;
    const target = await startAudienceMeter({ bin: values.daemon, workers, extra: values['daemon-arg'], readyTimeoutMs: 30_000 });
    try {
      const idle = treeMemory(target.pid).perProcess.find((p) => p.pid === target.pid)!.rssKiB;
      const idleHeap = await primaryHeapUsed(target.notificationPort);
      // The primary's own timers (reports, readiness, sweeps) cost CPU by the second, not by the join: measured
      // idle, then taken off the ramp's CPU for the ramp's length, so a slow ramp on a busy machine does not
      // count as dear joins.
      const idleFrom = procJiffies(target.pid);
      const idleT0 = performance.now();
      await sleep(IDLE_SAMPLE_MS);
      const idleCores = (procJiffies(target.pid) - idleFrom) / 100 / ((performance.now() - idleT0) / 1000);
      // Fresh source addresses each run: no TIME_WAIT left by the last one.
      const r = await runViewers(target, { ...base, sourceBase: sourceBaseFor(k, base.sourceBase, addressSpan(base.viewers, base.perSwarm)) });
      // A run with problems says what the daemon logged, so a lost viewer has its cause beside it.
      if (r.problems.length > 0) for (const line of target.tail.slice(-15)) log(`  daemon: ${line}`);
      const loaded = r.memory.processes.find((p) => p.pid === target.pid)?.rssKiB ?? idle;
      const loadedHeap = await primaryHeapUsed(target.notificationPort);
      const [primary, ...rest] = r.rampCpu;
      const joins = Math.max(1, r.accept.viewers);
      const rampSeconds = primary && primary.cores > 0 ? primary.seconds / primary.cores : 0;
      runs.push({
        viewers: r.accept.viewers,
        primaryUsPerJoin: round(((primary?.seconds ?? 0) * 1e6) / joins, 1),
        primaryNetUsPerJoin: round((Math.max(0, (primary?.seconds ?? 0) - idleCores * rampSeconds) * 1e6) / joins, 1),
        primaryIdleCores: round(idleCores, 3),
        rampSeconds: round(rampSeconds, 1),
        workersUsPerJoin: round((rest.reduce((sum, p) => sum + p.seconds, 0) * 1e6) / joins, 1),
        primaryBytesPerViewer: Math.round(((loaded - idle) * 1024) / joins),
        primaryHeapPerViewer: Math.round((loadedHeap - idleHeap) / joins),
        primaryIdleKiB: idle,
        primaryLoadedKiB: loaded,
        loadavgAtStart: round(loadavgAtStart, 2),
        problems: r.problems,
      });
      log(`run ${k + 1}: primary ${runs.at(-1)!.primaryUsPerJoin} µs per join (${runs.at(-1)!.primaryNetUsPerJoin} less idle), ${runs.at(-1)!.primaryBytesPerViewer} B RSS and ${runs.at(-1)!.primaryHeapPerViewer} B heap per viewer`);
    } finally {
      await target.stop();
    }
  }
  const rows: Row[] = [
    ['figure', [...runs.map((_, k) => `run ${k + 1}`), 'median'].join(' | ')],
    ...(['primaryUsPerJoin', 'primaryNetUsPerJoin', 'primaryIdleCores', 'rampSeconds', 'workersUsPerJoin', 'primaryBytesPerViewer', 'primaryHeapPerViewer', 'loadavgAtStart'] as const).map((key): Row => [
      key, [...runs.map((r) => String(r[key])), String(median(runs.map((r) => r[key])))].join(' | '),
    ]),
  ];
  emit({ scenario: 'primary-sessions', workers, viewers: base.viewers, daemon: values.daemon, runs }, rows);
}

runMain('primary-sessions', main);
