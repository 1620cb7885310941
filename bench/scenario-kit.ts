// What every scenario that starts its own audience-meter shares: its flags (run-kit's common ones plus the
// daemon's worker count, extra arguments and environment), the settings parsed from them, a fresh daemon
// per run that is always stopped (a non-zero exit after SIGTERM noted as a problem), the flash-crowd fleet,
// and the closing report (every run, the median, the problems: one JSON line and a table).

import { type ParseArgsConfig, parseArgs } from 'node:util';
import {
  type CpuUse,
  type Metric,
  type QuietOptions,
  type Row,
  commonSpec,
  deadline,
  emit,
  intFlag,
  log,
  numFlag,
  othersAbove,
} from './run-kit.js';
import { SwarmFleet } from './swarm-fleet.js';
import type { SwarmTotals } from './swarm-protocol.js';
import { type Target, startAudienceMeter } from './targets.js';
import { crowdFleet } from './viewer-run.js';

/** Flags of every scenario that starts audience-meter itself. */
export const daemonSpec = {
  ...commonSpec,
  workers: { type: 'string', default: '2' },
  'daemon-arg': { type: 'string', multiple: true, default: [] as string[] },
  // KEY=VALUE for the daemon's environment: experiments only, the figures use none.
  'daemon-env': { type: 'string', multiple: true, default: [] as string[] },
  // Flags for node itself, which the workers inherit (e.g. --cpu-prof, refused in NODE_OPTIONS): diagnostics only.
  'node-arg': { type: 'string', multiple: true, default: [] as string[] },
} as const;

type Spec = NonNullable<ParseArgsConfig['options']>;

/** The values parseArgs gives for daemonSpec plus a scenario's own flags. */
export type ScenarioValues<S extends Spec> = ReturnType<typeof parseArgs<{ options: typeof daemonSpec & S; strict: true }>>['values'];

export interface Scenario<S extends Spec> {
  name: string;
  values: ScenarioValues<S>;
  maxSeconds: number;
  workers: number;
  repeat: number;
  /** For run-kit's repeated() / quietRun(): the load to wait for, and when a run must be done again. */
  quiet: QuietOptions<{ cpu: CpuUse }>;
  /** Starts audience-meter as the flags say (`workers` overrides --workers); `extra` goes before the user's --daemon-arg. */
  startDaemon(o?: { extra?: string[]; readyTimeoutMs?: number; workers?: number; ports?: { port: number; statsPort: number; notificationPort: number } }): Promise<Target>;
}

/**
 * Parses the command line (daemonSpec, overridden and extended by `spec`), checks the common flags and
 * arms the deadline: --max-seconds, or what `deadlineSeconds` makes of it.
 */
export function parseScenario<S extends Spec>(
  name: string,
  spec: S,
  o: { deadlineSeconds?: (maxSeconds: number, values: NoInfer<ScenarioValues<S>>) => number; redoLimit?: number } = {},
): Scenario<S> {
  const { values } = parseArgs({ options: { ...daemonSpec, ...spec } as typeof daemonSpec & S, strict: true });
  const v = values as Record<string, unknown>;
  const maxSeconds = intFlag(v, 'max-seconds', 60, 86_400);
  deadline(name, o.deadlineSeconds ? o.deadlineSeconds(maxSeconds, values) : maxSeconds);
  const workers = intFlag(v, 'workers', 1, 64);
  return {
    name,
    values,
    maxSeconds,
    workers,
    repeat: intFlag(v, 'repeat', 1, 20),
    quiet: {
      maxLoad: numFlag(v, 'max-load', 0, 100),
      contaminated: othersAbove(numFlag(v, 'max-others', 0, 64)),
      redoLimit: o.redoLimit,
    },
    startDaemon: (d = {}) =>
      startAudienceMeter({
        bin: v.daemon as string,
        workers: d.workers ?? workers,
        extra: [...(d.extra ?? []), ...((v['daemon-arg'] as string[] | undefined) ?? [])],
        env: v['daemon-env'] as string[] | undefined,
        nodeArgs: v['node-arg'] as string[] | undefined,
        logPath: v['daemon-log'] as string | undefined,
        readyTimeoutMs: d.readyTimeoutMs,
        ports: d.ports,
      }),
  };
}

/**
 * One run on a fresh daemon: starts it, runs `run`, stops it (also when `run` throws) and notes a bad exit
 * among the run's problems.
 */
export async function withDaemon<T extends { problems: string[] }>(
  s: Scenario<Spec>,
  o: { extra?: string[]; readyTimeoutMs?: number },
  run: (target: Target) => Promise<T>,
): Promise<T & { daemonLogTail: string[] }> {
  const target = await s.startDaemon(o);
  let r: T;
  try {
    r = await run(target);
  } catch (err) {
    await target.stop();
    throw err;
  }
  const stop = await target.stop();
  if (stop.code !== 0) r.problems.push(`daemon exit after SIGTERM: code ${stop.code}, signal ${stop.signal}, ${stop.ms} ms`);
  return { ...r, daemonLogTail: target.tail.slice(-10) };
}

/** The rows every scenario ends its table with: how quiet the machine was. */
export function quietMetrics<T extends { loadavgAtStart: number; cpu: CpuUse }>(): Array<Metric<T>> {
  return [
    { label: 'load average at start', get: (r) => r.loadavgAtStart, fmt: (x) => x.toFixed(2) },
    { label: 'other processes (cores)', get: (r) => r.cpu.othersCores, fmt: (x) => x.toFixed(2) },
  ];
}

/** Every run's problems, and the runs kept although other work took the machine, "run k: …". */
export function runProblems(runs: Array<{ problems: string[]; redone: string[] }>): string[] {
  return runs.flatMap((r, k) => [
    ...r.problems.map((p) => `run ${k + 1}: ${p}`),
    ...r.redone.filter((w) => w.startsWith('kept anyway')).map((w) => `run ${k + 1}: ${w}`),
  ]);
}

export const problemRows = (problems: string[]): Row[] => problems.map((p): Row => ['PROBLEM', p]);

/**
 * Prints the JSON line ({ scenario, …fields, medians, problems, runs }) and the table (`rows`, then the
 * problems) and sets the exit code: 1 when anything went wrong.
 */
export function report(s: { name: string }, o: { fields: Record<string, unknown>; rows: Row[]; medians: unknown; problems: string[]; runs: unknown[]; title: string }): void {
  emit({ scenario: s.name, ...o.fields, medians: o.medians, problems: o.problems, runs: o.runs }, [...o.rows, ...problemRows(o.problems)], o.title);
  log(`${s.name}: done`);
  process.exitCode = o.problems.length === 0 ? 0 : 1;
}

/** A flash crowd: `viewers` streams opened within `seconds`, no cap on streams in flight (a crowd does not wait). */
export interface FlashCrowd {
  viewers: number;
  namespaces: string[];
  swarms: number;
  seconds: number;
  sourceBase: number;
}

/** Flags of a flash crowd, with the issue-3 defaults: 20,000 viewers over 10 namespaces within 2 s, 4 swarms. */
export const flashSpec = {
  viewers: { type: 'string', default: '20000' },
  namespaces: { type: 'string', default: '10' },
  seconds: { type: 'string', default: '2' },
  swarms: { type: 'string', default: '4' },
  'source-base': { type: 'string', default: '2' },
} as const;

export function flashFrom(values: Record<string, unknown>, prefix: string): FlashCrowd {
  const viewers = intFlag(values, 'viewers', 1, 250_000);
  const swarms = intFlag(values, 'swarms', 1, 40);
  if (viewers / swarms > 19_000) throw new Error('--swarms: at most 19,000 viewers per swarm');
  return {
    viewers,
    swarms,
    seconds: numFlag(values, 'seconds', 0.1, 600),
    namespaces: Array.from({ length: intFlag(values, 'namespaces', 1, 10_000) }, (_, k) => `${prefix}-${k}`),
    sourceBase: intFlag(values, 'source-base', 2, 200),
  };
}

/**
 * The fleet of a flash crowd; `sourceBase` is this run's (see sourceBaseFor), `tokenFile` names the viewers.
 * `inflight` (default 0: no cap) caps the streams opened and still waiting for their first event, over the
 * whole fleet: a crowd larger than the machine accepts within its window then comes as fast as it is served
 * instead of overflowing the kernel's accept queue.
 */
export function flashFleet(target: Target, c: FlashCrowd, o: { sourceBase: number; maxSeconds: number; tokenFile?: string; inflight?: number }): SwarmFleet {
  const perSwarm = Math.ceil(c.viewers / c.swarms);
  // A little ahead of the nominal pace, so the last socket is opened within the window despite timer slack.
  const rate = Math.ceil(perSwarm / Math.max(0.05, c.seconds - 0.1));
  return crowdFleet(target, { viewers: c.viewers, namespaces: c.namespaces, perSwarm, rate, ...o, inflight: o.inflight ?? 0 });
}

/** Streams the daemon refused or ended: a problem line, or undefined when there were none. */
export function refusals(t: SwarmTotals): { refused: number; problem?: string } {
  const refused = t.errors + t.badStatus + t.closedByPeer;
  return {
    refused,
    problem: refused > 0 ? `refused or failed: errors ${JSON.stringify(t.errorCodes)}, non-200 ${JSON.stringify(t.statusCodes)}, closed by the daemon ${t.closedByPeer}` : undefined,
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
