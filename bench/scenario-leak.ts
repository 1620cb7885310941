// Issue 3, scenario f: no leaks. Viewers come and go: --concurrency slots (over --swarms processes) each
// open a stream, wait for the first event, close it (FIN, as a closing tab does) and open the next, stream
// k going to namespace `leak-(k mod 2000)`, until --cycles streams in all or --duration seconds, whichever
// comes first. The daemon runs with its defaults except `--namespace-clean-delay 5`, so emptied namespaces
// go within seconds rather than a minute.
//
// Each slot keeps its source address; slots are spread over many addresses (--per-address slots each), because
// a client that closes first keeps the port in TIME_WAIT for a minute, and with tens of thousands of those on
// one address the kernel's search for a free source port becomes the bottleneck of the load generator.
//
// Memory (RSS of primary + workers) is sampled every 10 s; the target compares the reading after the
// warm-up (--warmup cycles) with the reading near the end, both taken while the churn runs. Then, all
// viewers gone and the clean delay passed, the stats port must list no namespace, and the idle RSS is
// compared with the idle RSS before the churn.
//
// --rate caps the streams opened per second in all (default 0: as fast as the daemon takes them).
//
//   npm run build && node dist/bench/scenario-leak.js [--repeat 3] [--cycles 1000000] [--duration 600] [--rate 0]

import { readStats, sleep } from './daemon-io.js';
import { sampleTreeMemory, treeMemory } from './proc-mem.js';
import { type CpuUse, type Metric, CpuMeter, fmtInt, fmtMs, intFlag, log, repeated, round, runMain, runsTable } from './run-kit.js';
import { addressSpan, parseScenario, quietMetrics, report, runProblems, sourceBaseFor, withDaemon } from './scenario-kit.js';
import { SwarmFleet } from './swarm-fleet.js';
import { type SwarmTotals, nowMs } from './swarm-protocol.js';
import type { Target } from './targets.js';

const CLEAN_DELAY_S = 5;

interface LeakOptions {
  cycles: number;
  warmup: number;
  durationS: number;
  namespaces: string[];
  swarms: number;
  concurrency: number;
  close: 'fin' | 'rst';
  perAddress: number;
  /** Streams opened per second in all; 0: as fast as the daemon takes them. */
  rate: number;
  sourceBase: number;
}

interface LeakRun {
  cyclesDone: number;
  cyclesWanted: number;
  seconds: number;
  cyclesPerSecond: number;
  idleBeforeRssKiB: number;
  /** While churning: after the warm-up, and near the end. */
  warmRssKiB: number;
  endRssKiB: number;
  /** (end − warm) / warm. */
  growth: number;
  /** The same for the workers alone (the processes that hold the sockets) and for the primary alone. */
  workersGrowth: number;
  primaryGrowth: number;
  idleAfterRssKiB: number;
  /** Namespaces the stats port still listed once the clean delay had passed, and when it first listed none. */
  namespacesLeft: number;
  emptyAfterMs: number | null;
  /** When the stats port first counted no member after the churn stopped: how late the last leaves were counted. */
  countedOutAfterMs: number | null;
  series: Array<[seconds: number, cycles: number, rssKiB: number, primaryRssKiB: number]>;
  errors: number;
  errorCodes: Record<string, number>;
  badStatus: number;
  cpu: CpuUse;
  totals: SwarmTotals;
  problems: string[];
  daemonLogTail: string[];
}

async function churn(target: Target, o: LeakOptions, maxSeconds: number): Promise<Omit<LeakRun, 'daemonLogTail'>> {
  const problems: string[] = [];
  const idleBefore = await sampleTreeMemory(target.pid);
  const fleet = new SwarmFleet({
    host: target.host,
    port: target.port,
    namespaces: o.namespaces,
    viewers: o.concurrency,
    perSwarm: Math.ceil(o.concurrency / o.swarms),
    rate: o.rate === 0 ? 1_000_000 : Math.max(1, Math.round(o.rate / o.swarms)),
    sourceBase: o.sourceBase,
    maxSeconds,
    cyclesPerSwarm: Math.ceil(o.cycles / o.swarms),
    close: o.close,
    perAddress: o.perAddress,
  });
  try {
    const cpu = new CpuMeter(() => [target.pid, ...fleet.pids()]);
    const t0 = nowMs();
    fleet.start();
    const wanted = Math.ceil(o.cycles / o.swarms) * fleet.members.length;
    log(`${target.label}: ${wanted} connect/disconnect cycles over ${o.namespaces.length} namespaces, ${o.concurrency} at a time, at most ${o.durationS} s`);
    const series: LeakRun['series'] = [];
    let warm: number | undefined;
    let end: number | undefined;
    let warmPrimary = NaN;
    let endPrimary = NaN;
    let lastSample = 0;
    for (;;) {
      await sleep(250);
      const t = fleet.totals();
      const elapsed = (nowMs() - t0) / 1000;
      const done = t.firstEvent;
      const allExited = fleet.members.every((m) => m.exited);
      if (warm === undefined && done >= o.warmup) {
        const m = await sampleTreeMemory(target.pid);
        warm = m.rssKiB;
        warmPrimary = m.perProcess[0]?.rssKiB ?? NaN;
        log(`  warm-up done (${done} cycles, ${round(elapsed)} s): RSS ${(warm / 1024).toFixed(1)} MiB`);
      }
      // The end reading is taken while the churn still runs: 97 % of the cycles, or 10 s before the deadline.
      const nearEnd = done >= 0.97 * wanted || elapsed >= o.durationS - 10;
      if (warm !== undefined && end === undefined && nearEnd) {
        const m = await sampleTreeMemory(target.pid);
        end = m.rssKiB;
        endPrimary = m.perProcess[0]?.rssKiB ?? NaN;
        log(`  near the end (${done} cycles, ${round(elapsed)} s): RSS ${(end / 1024).toFixed(1)} MiB`);
      }
      if (elapsed - lastSample >= 10) {
        lastSample = elapsed;
        const m = treeMemory(target.pid);
        const primary = m.perProcess[0]?.rssKiB ?? 0;
        series.push([round(elapsed, 1), done, m.rssKiB, primary]);
        log(`  ${round(elapsed)} s: ${done} cycles (${Math.round(done / elapsed)}/s), errors ${t.errors}, RSS ${(m.rssKiB / 1024).toFixed(1)} MiB (primary ${(primary / 1024).toFixed(1)}, workers ${((m.rssKiB - primary) / 1024).toFixed(1)})`);
      }
      if (done + t.errors + t.badStatus >= wanted || elapsed >= o.durationS || allExited || target.isExited()) break;
    }
    const seconds = (nowMs() - t0) / 1000;
    const cpuUse = cpu.end();
    const totals = await fleet.stop();
    const cyclesDone = totals.firstEvent;
    log(`${target.label}: ${cyclesDone} cycles in ${round(seconds)} s; waiting for the clean delay (${CLEAN_DELAY_S} s)`);

    // The last leaves are counted (no member left) at once when the primary keeps up; every namespace must go
    // once the clean delay has passed (the primary sweeps once a second).
    const goneBy = nowMs();
    let emptyAfterMs: number | null = null;
    let countedOutAfterMs: number | null = null;
    let left = -1;
    while (nowMs() - goneBy < (CLEAN_DELAY_S + 25) * 1000) {
      const s = await readStats(target.host, target.statsPort!, 5_000);
      left = Object.keys(s).length;
      if (countedOutAfterMs === null && Object.values(s).every((n) => n.members === 0)) countedOutAfterMs = round(nowMs() - goneBy);
      if (left === 0) {
        emptyAfterMs = round(nowMs() - goneBy);
        break;
      }
      await sleep(250);
    }
    await sleep(3000);
    const idleAfter = await sampleTreeMemory(target.pid);
    if (warm === undefined || end === undefined) problems.push(`too few cycles for a warm-up and an end reading (${cyclesDone})`);
    const growth = warm !== undefined && end !== undefined ? round((end - warm) / warm, 4) : NaN;
    if (growth > 0.1) problems.push(`RSS grew ${round(growth * 100, 1)} % from the warm-up to the end`);
    if (left !== 0) problems.push(`${left} namespaces still listed ${CLEAN_DELAY_S + 25} s after the last viewer left`);
    if (cyclesDone < wanted) problems.push(`only ${cyclesDone} of ${wanted} cycles within ${o.durationS} s`);
    if (totals.errors > 0) problems.push(`socket errors: ${JSON.stringify(totals.errorCodes)}`);
    if (totals.badStatus > 0) problems.push(`non-200 answers: ${JSON.stringify(totals.statusCodes)}`);
    return {
      cyclesDone,
      cyclesWanted: wanted,
      seconds: round(seconds, 1),
      cyclesPerSecond: Math.round(cyclesDone / seconds),
      idleBeforeRssKiB: idleBefore.rssKiB,
      warmRssKiB: warm ?? NaN,
      endRssKiB: end ?? NaN,
      growth,
      workersGrowth: warm !== undefined && end !== undefined ? round((end - endPrimary - (warm - warmPrimary)) / (warm - warmPrimary), 4) : NaN,
      primaryGrowth: round((endPrimary - warmPrimary) / warmPrimary, 4),
      idleAfterRssKiB: idleAfter.rssKiB,
      namespacesLeft: left,
      emptyAfterMs,
      countedOutAfterMs,
      series,
      errors: totals.errors,
      errorCodes: totals.errorCodes,
      badStatus: totals.badStatus,
      cpu: cpuUse,
      totals,
      problems,
    };
  } finally {
    fleet.kill();
  }
}

async function main(): Promise<void> {
  const s = parseScenario(
    'scenario-leak',
    {
      cycles: { type: 'string', default: '1000000' },
      warmup: { type: 'string', default: '100000' },
      duration: { type: 'string', default: '600' },
      namespaces: { type: 'string', default: '2000' },
      swarms: { type: 'string', default: '4' },
      concurrency: { type: 'string', default: '2000' },
      close: { type: 'string', default: 'fin' },
      'per-address': { type: 'string', default: '50' },
      rate: { type: 'string', default: '0' },
      'source-base': { type: 'string', default: '2' },
    },
    {
      // Every run may take its whole --duration, plus start, clean delay and stop.
      deadlineSeconds: (maxSeconds, values) => Math.max(maxSeconds, intFlag(values, 'repeat', 1, 20) * (intFlag(values, 'duration', 30, 7200) + 180)),
      redoLimit: 1,
    },
  );
  const { values } = s;
  const durationS = intFlag(values, 'duration', 30, 7200);
  if (values.close !== 'fin' && values.close !== 'rst') throw new Error('--close must be fin or rst');
  const o: Omit<LeakOptions, 'sourceBase'> = {
    cycles: intFlag(values, 'cycles', 1, 100_000_000),
    warmup: intFlag(values, 'warmup', 1, 100_000_000),
    durationS,
    namespaces: Array.from({ length: intFlag(values, 'namespaces', 1, 100_000) }, (_, k) => `leak-${k}`),
    swarms: intFlag(values, 'swarms', 1, 40),
    concurrency: intFlag(values, 'concurrency', 1, 100_000),
    close: values.close,
    perAddress: intFlag(values, 'per-address', 1, 19_000),
    rate: intFlag(values, 'rate', 0, 1_000_000),
  };
  const sourceBase = intFlag(values, 'source-base', 2, 200);

  const runs = await repeated<LeakRun>({ ...s.quiet, repeat: s.repeat }, (_k, attempt) =>
    withDaemon(s, { extra: ['--namespace-clean-delay', String(CLEAN_DELAY_S)] }, (target) =>
      churn(target, { ...o, sourceBase: sourceBaseFor(attempt, sourceBase, addressSpan(o.concurrency, Math.ceil(o.concurrency / o.swarms), o.perAddress)) }, durationS + 120),
    ),
  );

  const mib = (x: number) => (x / 1024).toFixed(1);
  const metrics: Array<Metric<(typeof runs)[number]>> = [
    { label: 'cycles done', get: (r) => r.cyclesDone, fmt: fmtInt },
    { label: 'cycles per second', get: (r) => r.cyclesPerSecond, fmt: fmtInt },
    { label: 'idle RSS before (MiB)', get: (r) => r.idleBeforeRssKiB, fmt: mib },
    { label: 'RSS after warm-up (MiB)', get: (r) => r.warmRssKiB, fmt: mib },
    { label: 'RSS near the end (MiB)', get: (r) => r.endRssKiB, fmt: mib },
    { label: 'growth warm-up → end', get: (r) => r.growth, fmt: (x) => `${(x * 100).toFixed(1)} %` },
    { label: '  of the workers', get: (r) => r.workersGrowth, fmt: (x) => `${(x * 100).toFixed(1)} %` },
    { label: '  of the primary', get: (r) => r.primaryGrowth, fmt: (x) => `${(x * 100).toFixed(1)} %` },
    { label: 'idle RSS after (MiB)', get: (r) => r.idleAfterRssKiB, fmt: mib },
    { label: 'namespaces left', get: (r) => r.namespacesLeft, fmt: fmtInt },
    { label: 'last leave counted after', get: (r) => r.countedOutAfterMs ?? undefined, fmt: fmtMs },
    { label: 'stats empty after last leave', get: (r) => r.emptyAfterMs ?? undefined, fmt: fmtMs },
    { label: 'socket errors', get: (r) => r.errors, fmt: fmtInt },
    ...quietMetrics(),
  ];
  const { rows, medians } = runsTable(runs, metrics);
  report(s, {
    fields: { workers: s.workers, cleanDelay: CLEAN_DELAY_S, options: { ...o, namespaces: o.namespaces.length } },
    rows,
    medians,
    problems: runProblems(runs),
    runs,
    title: `scenario-leak: audience-meter, ${s.workers} workers, --namespace-clean-delay ${CLEAN_DELAY_S}, ${o.cycles.toLocaleString('en-US')} cycles over ${o.namespaces.length} namespaces (at most ${durationS} s), ${runs.length} runs`,
  });
}

runMain('scenario-leak', main);
