// The three issue-3 scenarios that hold a crowd of idle viewers on audience-meter: memory per viewer,
// accept rate, fan-out. Each starts a fresh daemon per run (defaults plus ports, host, --demo-port 0 and
// --workers), runs bench/viewer-run.ts, stops the daemon, and prints one JSON line and a table with every
// run and the median. Entry points: scenario-memory.ts, scenario-accept.ts, scenario-fanout.ts.

import { parseArgs } from 'node:util';
import {
  type Metric,
  commonSpec,
  deadline,
  emit,
  fmtInt,
  fmtMs,
  intFlag,
  log,
  numFlag,
  othersAbove,
  repeated,
  runsTable,
} from './run-kit.js';
import { SwarmFleet } from './swarm-fleet.js';
import { startAudienceMeter } from './targets.js';
import { type ViewerRunOptions, type ViewerRunResult, runViewers, viewerSpec } from './viewer-run.js';

export type Focus = 'memory' | 'accept' | 'fanout';

export function viewerOptionsFrom(values: Record<string, unknown>, maxSeconds: number): ViewerRunOptions {
  const nsCount = intFlag(values, 'namespaces', 1, 100_000);
  const prefix = String(values['namespace-prefix']);
  return {
    viewers: intFlag(values, 'viewers', 1, 200_000),
    namespaces: Array.from({ length: nsCount }, (_, k) => `${prefix}-${k}`),
    perSwarm: intFlag(values, 'per-swarm', 1, 19_000),
    rate: intFlag(values, 'rate', 1, 1_000_000),
    inflight: intFlag(values, 'inflight', 0, 1_000_000),
    sourceBase: intFlag(values, 'source-base', 2, 200),
    settleSeconds: intFlag(values, 'settle', 0, 600),
    probes: intFlag(values, 'probes', 0, 100),
    countPush: false,
    readyTimeoutSeconds: intFlag(values, 'ready-timeout', 1, 3600),
    probeTimeoutSeconds: intFlag(values, 'probe-timeout', 1, 600),
    maxSeconds,
  };
}

/**
 * Each run gets fresh source addresses, clear of anything the previous run left behind: run k starts
 * `span` addresses (what its fleets use, see SwarmFleet.addressesFor, plus room for side requests and
 * joiners) after run k − 1, wrapping before 127.0.0.200.
 */
export function sourceBaseFor(k: number, base: number, span: number): number {
  return base + ((k * span) % Math.max(1, 200 - base - span));
}

/** The `span` for sourceBaseFor: a crowd's addresses, a joiners' fleet (10 % of it) and side addresses. */
export function addressSpan(viewers: number, perSwarm: number, perAddress?: number): number {
  return SwarmFleet.addressesFor({ viewers, perSwarm, perAddress }) + SwarmFleet.addressesFor({ viewers: Math.ceil(viewers / 10), perSwarm }) + 4;
}

export const bytes = (x: number): string => `${fmtInt(x)} B`;
export const perS = (x: number): string => `${fmtInt(x)}/s`;

export function memoryMetrics(): Array<Metric<ViewerRunResult>> {
  return [
    { label: 'idle RSS (MiB)', get: (r) => r.memory.idleRssKiB / 1024, fmt: (x) => x.toFixed(1) },
    { label: 'loaded RSS (MiB)', get: (r) => r.memory.loadedRssKiB / 1024, fmt: (x) => x.toFixed(1) },
    { label: 'memory per viewer (RSS)', get: (r) => r.memory.bytesPerViewerRss, fmt: bytes },
    { label: 'memory per viewer (PSS)', get: (r) => r.memory.bytesPerViewerPss, fmt: bytes },
  ];
}

export function acceptMetrics(): Array<Metric<ViewerRunResult>> {
  return [
    { label: 'connects per second', get: (r) => r.accept.connectsPerSecond, fmt: perS },
    { label: 'first events per second', get: (r) => r.accept.firstEventsPerSecond, fmt: perS },
    { label: 'first events/s, 10-90 %', get: (r) => r.accept.steadyFirstEventsPerSecond, fmt: perS },
    { label: 'ramp (open → last event)', get: (r) => r.accept.firstEventSpanMs, fmt: fmtMs },
    { label: 'first event p99', get: (r) => r.accept.firstEventP99Ms, fmt: fmtMs },
    { label: 'slowest connect', get: (r) => r.accept.connectMaxMs, fmt: fmtMs },
  ];
}

export function fanoutMetrics(): Array<Metric<ViewerRunResult>> {
  return [
    { label: 'message, last viewer', get: (r) => r.fanoutLastMs, fmt: fmtMs },
    { label: 'message, median viewer', get: (r) => r.fanoutP50Ms, fmt: fmtMs },
    { label: 'count push, first→last', get: (r) => r.countPush?.spreadMs, fmt: fmtMs },
  ];
}

export function commonMetrics(): Array<Metric<ViewerRunResult & { loadavgAtStart: number }>> {
  return [
    { label: 'load average at start', get: (r) => r.loadavgAtStart, fmt: (x) => x.toFixed(2) },
    { label: 'other processes (cores)', get: (r) => r.cpu.othersCores, fmt: (x) => x.toFixed(2) },
  ];
}

export async function viewerScenario(focus: Focus): Promise<void> {
  const name = `scenario-${focus}`;
  const { values } = parseArgs({
    options: {
      ...commonSpec,
      ...viewerSpec,
      workers: { type: 'string', default: '2' },
      'daemon-arg': { type: 'string', multiple: true, default: [] },
      // KEY=VALUE for the daemon's environment: experiments only, the figures use none.
      'daemon-env': { type: 'string', multiple: true, default: [] },
    },
    strict: true,
  });
  const maxSeconds = intFlag(values, 'max-seconds', 60, 86_400);
  deadline(name, maxSeconds);
  const workers = intFlag(values, 'workers', 1, 64);
  const repeat = intFlag(values, 'repeat', 1, 20);
  const maxLoad = numFlag(values, 'max-load', 0, 100);
  const base = viewerOptionsFrom(values, maxSeconds);
  if (focus !== 'fanout') base.probes = 0;
  base.countPush = focus === 'fanout';

  const maxOthers = numFlag(values, 'max-others', 0, 64);
  const runs = await repeated({ repeat, maxLoad, contaminated: othersAbove(maxOthers) }, async (k, attempt) => {
    const target = await startAudienceMeter({
      bin: values.daemon,
      workers,
      extra: values['daemon-arg'],
      env: values['daemon-env'],
      logPath: values['daemon-log'],
    });
    try {
      const r = await runViewers(target, { ...base, sourceBase: sourceBaseFor(attempt, base.sourceBase, addressSpan(base.viewers, base.perSwarm)) });
      const stop = await target.stop();
      if (stop.code !== 0) r.problems.push(`daemon exit after SIGTERM: code ${stop.code}, signal ${stop.signal}, ${stop.ms} ms`);
      return { ...r, daemonLogTail: target.tail.slice(-10) };
    } catch (err) {
      await target.stop();
      throw err;
    }
  });

  const metrics = [...(focus === 'memory' ? memoryMetrics() : focus === 'accept' ? acceptMetrics() : fanoutMetrics()), ...commonMetrics()];
  const { rows, medians } = runsTable(runs, metrics);
  const problems = runs.flatMap((r, k) => [
    ...r.problems.map((p) => `run ${k + 1}: ${p}`),
    ...r.redone.filter((w) => w.startsWith('kept anyway')).map((w) => `run ${k + 1}: ${w}`),
  ]);
  const title = `${name}: audience-meter, ${workers} workers, ${base.viewers.toLocaleString('en-US')} viewers over ${base.namespaces.length} namespaces, ${repeat} runs`;
  emit({ scenario: name, workers, viewers: base.viewers, namespaces: base.namespaces.length, repeat, medians, problems, runs }, [
    ...rows,
    ...problems.map((p): [string, string] => ['PROBLEM', p]),
  ], title);
  log(`${name}: done`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}
