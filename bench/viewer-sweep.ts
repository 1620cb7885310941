// Memory per viewer and fan-out time against the number of viewers, for the chart (bench/chart.ts):
// audience-meter and nginx + nchan at 1k, 3k, 10k, 30k and 100k idle SSE viewers over 10 namespaces, each
// point the median of --repeat runs (fresh server per run, the systems alternating). Up to 30k both run 2
// workers; from --big-from on both run --big-workers (6: 100,000 sockets do not fit in 2 processes of
// 20,000 open files), nginx then with `reuseport` so the kernel spreads connections evenly over its
// workers (without it one worker takes more than its 20,000 files allow).
// Writes the medians to --out (default bench/results/sweep.json) and prints them.
//
//   npm run build && node dist/bench/viewer-sweep.js [--sizes 1000,3000,10000,30000,100000] [--repeat 3]

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type Row, emit, fmtInt, fmtMs, intFlag, median, quietRun, runMain } from './run-kit.js';
import { addressSpan, parseScenario, sourceBaseFor } from './scenario-kit.js';
import { type Target, nchanAvailability, NCHAN_INSTALL, repoRoot, startNchan } from './targets.js';
import { type ViewerRunResult, runViewers, viewerSpec } from './viewer-run.js';
import { viewerOptionsFrom } from './viewer-scenario.js';

type Kind = Target['kind'];

export interface SweepPoint {
  system: Kind;
  label: string;
  viewers: number;
  workers: number;
  runs: number;
  bytesPerViewerRss: number;
  fanoutLastMs: number;
  fanoutP50Ms: number;
  firstEventsPerSecond: number;
  byRun: Array<{ bytesPerViewerRss: number; fanoutLastMs: number; firstEventsPerSecond: number; loadavg: number; otherCores: number }>;
  problems: string[];
}

export interface SweepFile {
  measured: string;
  machine: string;
  daemon: string;
  points: SweepPoint[];
}

async function main(): Promise<void> {
  const s = parseScenario(
    'viewer-sweep',
    {
      ...viewerSpec,
      sizes: { type: 'string', default: '1000,3000,10000,30000,100000' },
      systems: { type: 'string', default: 'audience-meter,nchan' },
      'big-from': { type: 'string', default: '50000' },
      'big-workers': { type: 'string', default: '6' },
      out: { type: 'string', default: 'bench/results/sweep.json' },
      note: { type: 'string', default: '' },
    },
    { deadlineSeconds: (maxSeconds) => Math.max(maxSeconds, 7200) },
  );
  const { values, repeat } = s;
  const sizes = values.sizes!.split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 150_000)) throw new Error('--sizes: integers from 1 to 150,000');
  const systems = values.systems!.split(',') as Kind[];
  if (systems.some((k) => k !== 'audience-meter' && k !== 'nchan')) throw new Error('--systems: audience-meter and/or nchan');
  if (systems.includes('nchan') && nchanAvailability().missing.length > 0) {
    process.stderr.write(`viewer-sweep: nginx + nchan missing; install with:\n  ${NCHAN_INSTALL}\n`);
    process.exit(2);
  }
  const bigFrom = intFlag(values, 'big-from', 1, 1_000_000);
  const bigWorkers = intFlag(values, 'big-workers', 1, 64);
  const base = viewerOptionsFrom(values, s.maxSeconds);

  const points: SweepPoint[] = [];
  let slot = 0;
  for (const viewers of sizes) {
    const big = viewers >= bigFrom;
    const workers = big ? bigWorkers : s.workers;
    const perSwarm = viewers > 30_000 ? 12_500 : 5_000;
    const results: Record<string, Array<ViewerRunResult & { loadavg: number }>> = {};
    for (let k = 0; k < repeat; k++) {
      const order = k % 2 === 0 ? systems : [...systems].reverse();
      for (const kind of order) {
        const r = await quietRun(s.quiet, `${viewers} viewers, ${kind}, run ${k + 1}/${repeat}`, async () => {
          const target =
            kind === 'nchan'
              ? await startNchan({ workers, reuseport: big, transport: base.transport })
              : await s.startDaemon({ workers, readyTimeoutMs: 60_000 });
          try {
            return await runViewers(target, { ...base, viewers, perSwarm, sourceBase: sourceBaseFor(slot++, base.sourceBase, addressSpan(viewers, perSwarm)) });
          } finally {
            await target.stop();
            await new Promise((res) => setTimeout(res, 3000));
          }
        });
        for (const why of r.redone.filter((w) => w.startsWith('kept anyway'))) r.problems.push(why);
        (results[kind] ??= []).push({ ...r, loadavg: r.loadavgAtStart });
      }
    }
    for (const kind of systems) {
      const rs = results[kind] ?? [];
      points.push({
        system: kind,
        label: rs[0]?.target ?? kind,
        viewers,
        workers,
        runs: rs.length,
        bytesPerViewerRss: median(rs.map((r) => r.memory.bytesPerViewerRss)),
        fanoutLastMs: median(rs.map((r) => r.fanoutLastMs)),
        fanoutP50Ms: median(rs.map((r) => r.fanoutP50Ms)),
        firstEventsPerSecond: median(rs.map((r) => r.accept.firstEventsPerSecond)),
        byRun: rs.map((r) => ({
          bytesPerViewerRss: r.memory.bytesPerViewerRss,
          fanoutLastMs: r.fanoutLastMs,
          firstEventsPerSecond: r.accept.firstEventsPerSecond,
          loadavg: r.loadavg,
          otherCores: r.cpu.othersCores,
        })),
        problems: rs.flatMap((r, k) => r.problems.map((p) => `run ${k + 1}: ${p}`)),
      });
    }
  }

  const file: SweepFile = {
    measured: new Date().toISOString().slice(0, 10),
    machine: values.note || '2 cores, 24 GiB, Node.js 20; load generator on the same machine',
    daemon: values.daemon!,
    points,
  };
  const out = resolve(repoRoot, values.out!);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(file, null, 1)}\n`);
  const rows: Row[] = [['system', 'viewers  workers  bytes/viewer  message→last  first events/s']];
  for (const p of points) {
    rows.push([
      p.system,
      `${fmtInt(p.viewers).padStart(7)}  ${String(p.workers).padStart(7)}  ${fmtInt(p.bytesPerViewerRss).padStart(12)}  ${fmtMs(p.fanoutLastMs).padStart(12)}  ${fmtInt(p.firstEventsPerSecond).padStart(14)}${p.problems.length ? `  (${p.problems.length} problems)` : ''}`,
    ]);
  }
  emit({ scenario: 'viewer-sweep', out, ...file }, rows, `viewer-sweep: medians of ${repeat} runs, written to ${out}`);
}

runMain('viewer-sweep', main);
