// Issue 10, defect 5: does the primary give back what a namespace flood made it take? One daemon
// (`--attendance off`, a short `--namespace-clean-delay`, `--max-namespaces` above the flood), then --floods
// floods one after the other. A flood opens --namespaces streams, each to a namespace of its own
// (`f<flood>-<k>`), --concurrency at a time: each waits for its first event and closes (FIN), so every
// namespace was created with one viewer, emptied, and must then be deleted after the clean delay. After
// each flood the script waits until the stats port lists no namespace, lets the primary idle for
// --settle seconds (no forced collection: whatever V8 and the allocator do by themselves) and reads the
// primary's RSS (median of 5 readings). The figures: the primary's RSS before the first flood, its peak
// during a flood, after one and after the last, and the ratios to the level before.
//
// The load generator is this process (raw sockets, no swarm: 50,000 names do not fit a command line),
// spread over source addresses 127.0.0.<--source-base>… (2,000 streams per address per flood, so TIME_WAIT
// ports never run out). Bounded by --max-seconds.
//
//   npm run build && node dist/bench/scenario-namespace-flood.js [--floods 10] [--namespaces 50000] \
//     [--concurrency 400] [--clean-delay 2] [--settle 15] [--max-namespaces 100000] [--warmup 0] \
//     [--daemon other/bin/audience-meter]

import net from 'node:net';
import { readStats, sleep } from './daemon-io.js';
import { sampleTreeMemory, treeMemory } from './proc-mem.js';
import { CpuMeter, type CpuUse, fmtInt, fmtMiB, intFlag, load1, log, round, runMain } from './run-kit.js';
import { parseScenario, report, withDaemon } from './scenario-kit.js';
import type { Target } from './targets.js';

const STREAMS_PER_ADDRESS = 2000;
const REQUEST_TAIL = ' HTTP/1.1\r\nHost: flood\r\nAccept: text/event-stream\r\n\r\n';

interface FloodFigures {
  flood: number;
  seconds: number;
  opened: number;
  failed: number;
  peakPrimaryRssKiB: number;
  /** Once the stats port listed no namespace and the primary idled --settle seconds. */
  afterPrimaryRssKiB: number;
  /** The anonymous part of that RSS: the heaps, without the code pages read from the node binary. */
  afterPrimaryAnonKiB: number;
  emptyAfterMs: number;
}

interface FloodRun {
  beforePrimaryRssKiB: number;
  beforePrimaryAnonKiB: number;
  floods: FloodFigures[];
  cpu: CpuUse;
  loadavgAtStart: number;
  problems: string[];
}

/** RSS of the primary alone (the workers hold the sockets; this is about what the primary keeps). */
function primaryRssKiB(target: Target): number {
  return treeMemory(target.pid).perProcess.find((p) => p.pid === target.pid)?.rssKiB ?? NaN;
}

/**
 * The primary's RSS (median of 5 readings) and its anonymous part. RSS also counts the pages of the node
 * binary that have run at least once, and a flood runs code (the optimising compiler's, the collector's)
 * that a fresh primary has not: that share says nothing of what the primary keeps, so it is shown apart.
 */
async function primaryRssSettled(target: Target): Promise<{ rssKiB: number; anonKiB: number }> {
  const m = await sampleTreeMemory(target.pid, 5, 500);
  const primary = m.perProcess.find((p) => p.pid === target.pid);
  return { rssKiB: primary?.rssKiB ?? NaN, anonKiB: primary?.anonKiB ?? NaN };
}

/** One stream: connect, ask, wait for the first event, close. Resolves true when the first event came. */
function oneViewer(target: Target, ns: string, localAddress: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: target.host, port: target.port, localAddress });
    let text = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(20_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
    socket.once('connect', () => socket.write(`GET /${ns}${REQUEST_TAIL}`));
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const body = text.indexOf('\r\n\r\n');
      if (!text.startsWith('HTTP/1.1 200')) return done(false);
      if (body !== -1 && text.indexOf('\n\n', body + 4) !== -1) done(true);
    });
  });
}

async function flood(target: Target, k: number, namespaces: number, concurrency: number, sourceBase: number): Promise<{ opened: number; failed: number; peakKiB: number }> {
  let next = 0;
  let opened = 0;
  let failed = 0;
  let peakKiB = 0;
  const addresses = Math.ceil(namespaces / STREAMS_PER_ADDRESS);
  const watch = setInterval(() => { peakKiB = Math.max(peakKiB, primaryRssKiB(target)); }, 500);
  async function lane(): Promise<void> {
    while (next < namespaces) {
      const i = next++;
      const address = `127.0.0.${sourceBase + (i % addresses)}`;
      if (await oneViewer(target, `f${k}-${i}`, address)) opened++;
      else failed++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
  clearInterval(watch);
  return { opened, failed, peakKiB: Math.max(peakKiB, primaryRssKiB(target)) };
}

async function waitEmpty(target: Target, timeoutMs: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    const stats = await readStats(target.host, target.statsPort!, 30_000).catch(() => undefined);
    if (stats && Object.keys(stats).length === 0) return Date.now() - start;
    if (Date.now() - start > timeoutMs) return NaN;
    await sleep(1000);
  }
}

async function main(): Promise<void> {
  const s = parseScenario('scenario-namespace-flood', {
    floods: { type: 'string', default: '10' },
    namespaces: { type: 'string', default: '50000' },
    concurrency: { type: 'string', default: '400' },
    'clean-delay': { type: 'string', default: '2' },
    settle: { type: 'string', default: '15' },
    'source-base': { type: 'string', default: '2' },
    // Above the flood by default; 0 passes no --max-namespaces (a daemon from before the option, e.g. --daemon of an older checkout).
    'max-namespaces': { type: 'string', default: '100000' },
    // A small flood before the reading taken as "before" (0: none, as the first figures were taken). Fresh from
    // its start, the primary keeps the young generation its start-up grew (~8 MB) until V8 shrinks it, at a
    // time that depends on the machine's load: a "before" read first inflates the denominator of every ratio.
    warmup: { type: 'string', default: '0' },
  });
  const v = s.values as Record<string, unknown>;
  const floods = intFlag(v, 'floods', 1, 20);
  const namespaces = intFlag(v, 'namespaces', 1, 200_000);
  const concurrency = intFlag(v, 'concurrency', 1, 5000);
  const cleanDelay = intFlag(v, 'clean-delay', 1, 600);
  const settle = intFlag(v, 'settle', 0, 600);
  const sourceBase = intFlag(v, 'source-base', 2, 200);
  const warmup = intFlag(v, 'warmup', 0, 50_000);
  if (sourceBase + Math.ceil(namespaces / STREAMS_PER_ADDRESS) > 254) throw new Error('too many source addresses for --source-base');

  const maxNamespaces = intFlag(v, 'max-namespaces', 0, 10_000_000);
  if (maxNamespaces !== 0 && maxNamespaces <= namespaces) throw new Error('--max-namespaces must be above --namespaces (or 0)');
  const extra = ['--attendance', 'off', '--namespace-clean-delay', String(cleanDelay), ...(maxNamespaces > 0 ? ['--max-namespaces', String(maxNamespaces)] : [])];
  const loadavgAtStart = load1();
  const run = await withDaemon(s, { extra }, async (target): Promise<FloodRun> => {
    const problems: string[] = [];
    if (warmup > 0) {
      // Namespaces of their own (flood 0), emptied and deleted before the reading.
      await flood(target, 0, warmup, Math.min(concurrency, warmup), sourceBase);
      if (!Number.isFinite(await waitEmpty(target, (cleanDelay + 120) * 1000))) problems.push('warm-up: the stats port still listed namespaces');
    }
    await sleep(settle * 1000);
    const { rssKiB: beforePrimaryRssKiB, anonKiB: beforePrimaryAnonKiB } = await primaryRssSettled(target);
    log(`${target.label}: primary RSS before ${fmtMiB(beforePrimaryRssKiB)} (anonymous ${fmtMiB(beforePrimaryAnonKiB)})`);
    const cpu = new CpuMeter(() => [target.pid]);
    const figures: FloodFigures[] = [];
    for (let k = 1; k <= floods; k++) {
      const t0 = Date.now();
      const f = await flood(target, k, namespaces, concurrency, sourceBase);
      const seconds = round((Date.now() - t0) / 1000, 1);
      if (f.failed > 0) problems.push(`flood ${k}: ${f.failed} streams got no first event`);
      const emptyAfterMs = await waitEmpty(target, (cleanDelay + 120) * 1000);
      if (!Number.isFinite(emptyAfterMs)) problems.push(`flood ${k}: the stats port still listed namespaces`);
      await sleep(settle * 1000);
      const after = await primaryRssSettled(target);
      figures.push({ flood: k, seconds, opened: f.opened, failed: f.failed, peakPrimaryRssKiB: f.peakKiB, afterPrimaryRssKiB: after.rssKiB, afterPrimaryAnonKiB: after.anonKiB, emptyAfterMs });
      log(`flood ${k}: ${f.opened} opened in ${seconds} s, peak ${fmtMiB(f.peakKiB)}, after ${fmtMiB(after.rssKiB)} (${round(after.rssKiB / beforePrimaryRssKiB, 2)}× before), anonymous ${fmtMiB(after.anonKiB)} (${round(after.anonKiB / beforePrimaryAnonKiB, 2)}×)`);
    }
    return { beforePrimaryRssKiB, beforePrimaryAnonKiB, floods: figures, cpu: cpu.end(), loadavgAtStart, problems };
  });

  const before = run.beforePrimaryRssKiB;
  const beforeAnon = run.beforePrimaryAnonKiB;
  const first = run.floods[0]!;
  const last = run.floods.at(-1)!;
  const rows: [string, string][] = [
    ['namespaces per flood', fmtInt(namespaces)],
    ['floods', String(floods)],
    ['primary RSS (anonymous) before', `${fmtMiB(before)} (${fmtMiB(beforeAnon)})`],
    ...run.floods.map((f): [string, string] => [
      `flood ${f.flood}: peak / after (anonymous)`,
      `${fmtMiB(f.peakPrimaryRssKiB)} / ${fmtMiB(f.afterPrimaryRssKiB)} (${round(f.afterPrimaryRssKiB / before, 2)}×) (${fmtMiB(f.afterPrimaryAnonKiB)}, ${round(f.afterPrimaryAnonKiB / beforeAnon, 2)}×), ${f.seconds} s`,
    ]),
    ['after one flood / before: RSS, anonymous', `${round(first.afterPrimaryRssKiB / before, 2)}×, ${round(first.afterPrimaryAnonKiB / beforeAnon, 2)}×`],
    [`after ${floods} floods / before: RSS, anonymous`, `${round(last.afterPrimaryRssKiB / before, 2)}×, ${round(last.afterPrimaryAnonKiB / beforeAnon, 2)}×`],
    ['load average at start', String(run.loadavgAtStart)],
    ['other processes (cores)', String(run.cpu.othersCores)],
  ];
  report(s, {
    fields: { namespaces, floods, cleanDelay, settle, concurrency, maxNamespaces, warmup },
    rows,
    medians: { before, afterOne: first.afterPrimaryRssKiB, afterLast: last.afterPrimaryRssKiB, beforeAnon, afterOneAnon: first.afterPrimaryAnonKiB, afterLastAnon: last.afterPrimaryAnonKiB },
    problems: run.problems,
    runs: [run],
    title: `Primary RSS through ${floods} floods of ${fmtInt(namespaces)} one-viewer namespaces`,
  });
}

runMain('scenario-namespace-flood', main);
