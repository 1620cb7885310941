// The three issue-3 scenarios that hold a crowd of idle viewers on audience-meter: memory per viewer,
// accept rate, fan-out. Each starts a fresh daemon per run (defaults plus ports, host, --demo-port 0 and
// --workers), runs bench/viewer-run.ts, stops the daemon, and prints one JSON line and a table with every
// run and the median. Entry points: scenario-memory.ts, scenario-accept.ts, scenario-fanout.ts.

import { type Metric, fmtInt, fmtMs, intFlag, repeated, runsTable } from './run-kit.js';
import { addressSpan, parseScenario, quietMetrics, report, runProblems, sourceBaseFor, withDaemon } from './scenario-kit.js';
import { type ViewerRunOptions, type ViewerRunResult, runViewers, viewerSpec } from './viewer-run.js';

export type Focus = 'memory' | 'accept' | 'fanout';

export type CrowdOptions = Pick<ViewerRunOptions, 'viewers' | 'namespaces' | 'perSwarm' | 'rate' | 'inflight' | 'sourceBase' | 'readyTimeoutSeconds' | 'maxSeconds' | 'transport'>;

/** The crowd's settings from crowdSpec's flags. */
export function crowdOptionsFrom(values: Record<string, unknown>, maxSeconds: number): CrowdOptions {
  const nsCount = intFlag(values, 'namespaces', 1, 100_000);
  const prefix = String(values['namespace-prefix']);
  const transport = values.transport ?? 'sse';
  if (transport !== 'sse' && transport !== 'ws') throw new Error('--transport must be sse or ws');
  return {
    viewers: intFlag(values, 'viewers', 1, 200_000),
    namespaces: Array.from({ length: nsCount }, (_, k) => `${prefix}-${k}`),
    perSwarm: intFlag(values, 'per-swarm', 1, 19_000),
    rate: intFlag(values, 'rate', 1, 1_000_000),
    inflight: intFlag(values, 'inflight', 0, 1_000_000),
    sourceBase: intFlag(values, 'source-base', 2, 200),
    readyTimeoutSeconds: intFlag(values, 'ready-timeout', 1, 3600),
    maxSeconds,
    transport,
  };
}

/** A viewer run's settings from viewerSpec's flags. */
export function viewerOptionsFrom(values: Record<string, unknown>, maxSeconds: number): ViewerRunOptions {
  return {
    ...crowdOptionsFrom(values, maxSeconds),
    settleSeconds: intFlag(values, 'settle', 0, 600),
    probes: intFlag(values, 'probes', 0, 100),
    countPush: false,
    probeTimeoutSeconds: intFlag(values, 'probe-timeout', 1, 600),
  };
}

export const bytes = (x: number): string => `${fmtInt(x)} B`;
export const perS = (x: number): string => `${fmtInt(x)}/s`;

export function memoryMetrics(): Array<Metric<ViewerRunResult>> {
  return [
    { label: 'idle RSS (MiB)', get: (r) => r.memory.idleRssKiB / 1024, fmt: (x) => x.toFixed(1) },
    { label: 'loaded RSS (MiB)', get: (r) => r.memory.loadedRssKiB / 1024, fmt: (x) => x.toFixed(1) },
    { label: 'memory per viewer (RSS)', get: (r) => r.memory.bytesPerViewerRss, fmt: bytes },
    { label: 'memory per viewer (PSS)', get: (r) => r.memory.bytesPerViewerPss, fmt: bytes },
    // The first process is the primary (nginx's master); the others hold the sockets.
    { label: '… of which the first process (RSS)', get: (r) => perViewerOf(r, r.memory.processes.slice(0, 1)), fmt: bytes },
    { label: '… of which the others (RSS)', get: (r) => perViewerOf(r, r.memory.processes.slice(1)), fmt: bytes },
  ];
}

/** What `processes` added per viewer between the idle and the loaded samples (NaN if one was not there idle). */
function perViewerOf(r: ViewerRunResult, processes: ViewerRunResult['memory']['processes']): number {
  if (processes.some((p) => p.idleRssKiB === undefined || p.idleRssKiB < 0)) return NaN;
  return (processes.reduce((sum, p) => sum + p.rssKiB - p.idleRssKiB, 0) * 1024) / Math.max(1, r.accept.viewers);
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

/** Server CPU (every process of the server: utime + stime from /proc) over the ramp and over the message probes. */
export function cpuMetrics(): Array<Metric<ViewerRunResult>> {
  return [
    { label: 'server CPU, ramp (s)', get: (r) => r.serverCpuRampSeconds, fmt: (x) => x.toFixed(2) },
    { label: 'server CPU per viewer, ramp', get: (r) => (r.serverCpuRampSeconds * 1e6) / Math.max(1, r.accept.viewers), fmt: (x) => `${x.toFixed(0)} µs` },
    { label: 'server CPU over the probes (s)', get: (r) => (r.fanout.length > 0 ? r.serverCpuProbesSeconds : undefined), fmt: (x) => x.toFixed(2) },
  ];
}

export async function viewerScenario(focus: Focus): Promise<void> {
  const s = parseScenario(`scenario-${focus}`, viewerSpec);
  const base = viewerOptionsFrom(s.values, s.maxSeconds);
  if (focus !== 'fanout') base.probes = 0;
  base.countPush = focus === 'fanout';

  const runs = await repeated({ ...s.quiet, repeat: s.repeat }, (_k, attempt) =>
    withDaemon(s, {}, (target) =>
      runViewers(target, { ...base, sourceBase: sourceBaseFor(attempt, base.sourceBase, addressSpan(base.viewers, base.perSwarm)) }),
    ),
  );

  const metrics = [...(focus === 'memory' ? memoryMetrics() : focus === 'accept' ? [...acceptMetrics(), ...cpuMetrics()] : fanoutMetrics()), ...quietMetrics()];
  const { rows, medians } = runsTable(runs, metrics);
  report(s, {
    fields: { workers: s.workers, viewers: base.viewers, namespaces: base.namespaces.length, repeat: s.repeat },
    rows,
    medians,
    problems: runProblems(runs),
    runs,
    title: `${s.name}: audience-meter, ${s.workers} workers, ${base.viewers.toLocaleString('en-US')} viewers over ${base.namespaces.length} namespaces, ${s.repeat} runs`,
  });
}
