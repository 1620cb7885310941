// What every issue-3 scenario shares: runs repeated on a quiet machine (the 1-minute load average must be
// at most --max-load before a run starts, else it waits), the CPU other processes used during a run, the
// median over runs, and the output: one JSON line and a readable table on stdout, progress on stderr.

import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { sleep } from './daemon-io.js';
import { processTree } from './proc-mem.js';

export type Row = [string, string];

export function table(rows: Row[]): string {
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

export function median(xs: Array<number | undefined | null>): number {
  const s = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Nearest-rank percentile (0–100) of the finite values; NaN when there are none. */
export function percentile(xs: Array<number | undefined | null>, p: number): number {
  const s = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const round = (x: number, digits = 0): number => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);
export const fmtInt = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');
export const fmtMs = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '-' : `${x.toFixed(1)} ms`);
export const fmtMiB = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;

export function log(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

/** The 1-minute load average, two decimals. */
export function load1(): number {
  return round(loadavg()[0], 2);
}

/**
 * Waits until the 1-minute load average is at most `maxLoad` (polling every 10 s, at most `maxWaitS`),
 * and returns it. A run started on a busy machine measures the other work too.
 */
export async function waitQuiet(maxLoad: number, maxWaitS = 900): Promise<{ loadavg: number; waitedS: number }> {
  const start = Date.now();
  for (;;) {
    const l = load1();
    if (l <= maxLoad) return { loadavg: l, waitedS: Math.round((Date.now() - start) / 1000) };
    if (Date.now() - start > maxWaitS * 1000) {
      log(`load average still ${l} after ${maxWaitS} s; running anyway (marked in the result)`);
      return { loadavg: l, waitedS: Math.round((Date.now() - start) / 1000) };
    }
    log(`load average ${l} > ${maxLoad}: waiting for a quiet machine`);
    await sleep(10_000);
  }
}

const CLK_TCK = 100;

function busyJiffies(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …: process time only. Loopback traffic is mostly
  // softirq time, which belongs to no process; counting it would blame other processes for our sockets.
  return line[0]! + line[1]! + line[2]!;
}

/** utime + stime (+ reaped children's) of one process, in clock ticks (1/100 s). */
export function procJiffies(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime stime cutime cstime are fields 14–17 (1-based); f[0] is field 3.
    return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  } catch {
    return 0;
  }
}

function allJiffies(): Map<number, { comm: string; jiffies: number }> {
  const out = new Map<number, { comm: string; jiffies: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(entry), { comm, jiffies: Number(f[11]) + Number(f[12]) });
    } catch {
      /* gone */
    }
  }
  return out;
}

export interface CpuUse {
  seconds: number;
  /** Cores used on average by the benchmark: this process, its reaped children, the server, the swarms. */
  oursCores: number;
  /** Cores used on average by every other process (kernel threads included, softirq time excluded). */
  othersCores: number;
  cores: number;
  /** The busiest other processes, "comm pid: cores". */
  topOthers: string[];
}

/**
 * CPU used on the machine during a run, split into ours and everyone else's: a run during which other
 * work took a large share of the two cores measured that work too. Call `end` before stopping what you
 * measure.
 */
export class CpuMeter {
  private readonly t0 = performance.now();
  private readonly busy0 = busyJiffies();
  private readonly ours0: Map<number, number>;
  private readonly all0 = allJiffies();

  constructor(private readonly roots: () => number[]) {
    this.ours0 = this.ours();
  }

  private ours(): Map<number, number> {
    const pids = new Set<number>([process.pid]);
    for (const r of this.roots()) for (const p of processTree(r)) pids.add(p);
    return new Map([...pids].map((p) => [p, procJiffies(p)]));
  }

  end(): CpuUse {
    const seconds = (performance.now() - this.t0) / 1000;
    const busy = busyJiffies() - this.busy0;
    const oursNow = this.ours();
    let ours = 0;
    for (const [pid, j] of oursNow) ours += j - (this.ours0.get(pid) ?? 0);
    const cores = cpus().length;
    const toCores = (j: number) => round(j / CLK_TCK / Math.max(seconds, 0.001), 2);
    const others: Array<[string, number]> = [];
    for (const [pid, now] of allJiffies()) {
      if (oursNow.has(pid) || this.ours0.has(pid)) continue;
      const d = now.jiffies - (this.all0.get(pid)?.jiffies ?? 0);
      if (d > 0) others.push([`${now.comm} ${pid}`, d]);
    }
    others.sort((a, b) => b[1] - a[1]);
    return {
      seconds: round(seconds, 1),
      oursCores: toCores(ours),
      othersCores: Math.max(0, toCores(busy - ours)),
      cores,
      topOthers: others.slice(0, 3).map(([name, j]) => `${name}: ${toCores(j)}`),
    };
  }
}

export interface QuietOptions<T> {
  /** A run starts once the 1-minute load average is at most this. */
  maxLoad: number;
  /** Why a finished run cannot count (other work took the machine), or undefined when it can. */
  contaminated?: (r: T) => string | undefined;
  /** Redos allowed per run before a contaminated result is kept anyway (marked). */
  redoLimit?: number;
}

export interface RepeatOptions<T> extends QuietOptions<T> {
  repeat: number;
  pauseMs?: number;
}

export type Repeated<T> = T & { loadavgAtStart: number; redone: string[] };

/**
 * One run on a quiet machine: waits for the load average to drop, runs, and does it again (at most
 * `redoLimit` times, 20 s apart) while the result is contaminated; the reasons are kept in `redone`.
 */
export async function quietRun<T>(o: QuietOptions<T>, label: string, run: () => Promise<T>): Promise<Repeated<T>> {
  const redone: string[] = [];
  for (;;) {
    const quiet = await waitQuiet(o.maxLoad);
    log(`== ${label}${redone.length > 0 ? ` (redo ${redone.length})` : ''} (load average ${quiet.loadavg})`);
    const r = await run();
    const why = o.contaminated?.(r);
    if (why !== undefined && redone.length < (o.redoLimit ?? 2)) {
      log(`${label} contaminated (${why}); doing it again`);
      redone.push(why);
      await sleep(20_000);
      continue;
    }
    if (why !== undefined) redone.push(`kept anyway: ${why}`);
    return { ...r, loadavgAtStart: quiet.loadavg, redone };
  }
}

/**
 * Runs `run` `repeat` times, each on a quiet machine (see quietRun); `attempt` counts every start, redos
 * included, so each gets fresh source addresses.
 */
export async function repeated<T>(o: RepeatOptions<T>, run: (k: number, attempt: number) => Promise<T>): Promise<Array<Repeated<T>>> {
  const out: Array<Repeated<T>> = [];
  let attempt = 0;
  for (let k = 0; k < o.repeat; k++) {
    out.push(await quietRun(o, `run ${k + 1}/${o.repeat}`, () => run(k, attempt++)));
    if (k + 1 < o.repeat) await sleep(o.pauseMs ?? 3000);
  }
  return out;
}

/** Contaminated when other processes used more than `maxCores` on average during the run. */
export function othersAbove(maxCores: number): (r: { cpu: CpuUse }) => string | undefined {
  return (r) =>
    r.cpu.othersCores > maxCores ? `other processes used ${r.cpu.othersCores} cores (${r.cpu.topOthers.join(', ')})` : undefined;
}

/** Prints one JSON line, then the table (under its title). */
export function emit(json: unknown, rows: Row[], title?: string): void {
  process.stdout.write(`${JSON.stringify(json)}\n\n${title ? `${title}\n` : ''}${table(rows)}\n`);
}

/** Common flags of every scenario. */
export const commonSpec = {
  repeat: { type: 'string', default: '3' },
  'max-load': { type: 'string', default: '2.5' },
  'max-others': { type: 'string', default: '0.5' },
  daemon: { type: 'string', default: 'bin/audience-meter' },
  'daemon-log': { type: 'string' },
  'max-seconds': { type: 'string', default: '1800' },
} as const;

function numberFlag(values: Record<string, unknown>, name: string, min: number, max: number, integer: boolean): number {
  const raw = values[name];
  const n = Number(raw);
  if (typeof raw !== 'string' || !(integer ? Number.isInteger(n) : Number.isFinite(n)) || n < min || n > max) {
    throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}`);
  }
  return n;
}

export const intFlag = (values: Record<string, unknown>, name: string, min: number, max: number): number => numberFlag(values, name, min, max, true);
export const numFlag = (values: Record<string, unknown>, name: string, min: number, max: number): number => numberFlag(values, name, min, max, false);

/** Ends the process after `seconds` whatever happens (every scenario is bounded in time). */
export function deadline(name: string, seconds: number): void {
  setTimeout(() => {
    process.stderr.write(`${name}: --max-seconds ${seconds} reached, giving up\n`);
    process.exit(3);
  }, seconds * 1000).unref();
}

/**
 * Runs main, printing a stack and exiting 2 on an unexpected error. Ctrl-C and SIGTERM end the process
 * through process.exit, so the exit handlers that kill what it started (daemons, swarms) run.
 */
export function runMain(name: string, main: () => Promise<void>): void {
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
  main().catch((err) => {
    process.stderr.write(`${name}: ${(err as Error).stack ?? err}\n`);
    process.exit(2);
  });
}

export interface Metric<T> {
  label: string;
  get: (r: T) => number | undefined;
  fmt: (x: number) => string;
}

/** A table with one column per run and the median last; also returns the medians by label. */
export function runsTable<T>(runs: T[], metrics: Array<Metric<T>>): { rows: Row[]; medians: Record<string, number> } {
  const medians: Record<string, number> = {};
  const rows: Row[] = [['', [...runs.map((_, k) => `run ${k + 1}`), 'median'].map((s) => s.padStart(12)).join(' ')]];
  for (const m of metrics) {
    const xs = runs.map((r) => m.get(r));
    const med = median(xs);
    medians[m.label] = med;
    const cell = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : m.fmt(x)).padStart(12);
    rows.push([m.label, [...xs.map(cell), cell(med)].join(' ')]);
  }
  return { rows, medians };
}
