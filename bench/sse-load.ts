// SSE load coordinator against a running daemon.
//
// Forks swarm processes (bench/sse-swarm), each with its own loopback source address, spreads
// viewers over namespaces round-robin, waits until every viewer has its first event, then
//   (a) memory: RSS (and PSS) of the daemon's process tree idle vs. loaded → bytes per viewer,
//   (b) fan-out: one notification per namespace at t0, time until the last viewer got it,
//   (c) checks: stats-port members and the counts streamed to viewers against the truth.
// Prints one JSON line and a table on stdout; progress goes to stderr.
//
//   node dist/bench/sse-load.js --port 8000 --notification-port 2442 --stats-port 1442 \
//        --daemon-pid 1234 --viewers 10000 --namespaces 10 --runs 5

import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { checkStats, notifyAll, sleep, type NotifyOutcome } from './daemon-io.js';
import { type MemoryFigures, type TreeMemory, memoryFigures, sampleTreeMemory } from './proc-mem.js';
import { intFlag, median, table } from './run-kit.js';
import { SwarmFleet } from './swarm-fleet.js';
import { type NamespaceCounts, type SwarmTotals, histPercentile, nowMs } from './swarm-protocol.js';
import { expectedPerNamespace } from './viewer-run.js';

export interface LoadOptions {
  host: string;
  port: number;
  notificationPort?: number;
  statsPort?: number;
  daemonPid?: number;
  viewers: number;
  namespaces: string[];
  perSwarm: number;
  rate: number;
  sourceBase: number;
  runs: number;
  settleSeconds: number;
  readyTimeoutSeconds: number;
  probeTimeoutSeconds: number;
  countWaitSeconds: number;
  maxSeconds: number;
  log: (line: string) => void;
}

export interface FanoutRun {
  expected: number;
  received: number;
  notifyMs: number;
  notifyFailures: NotifyOutcome[];
  minMs: number;
  p50Ms: number;
  p99Ms: number;
  lastMs: number;
}

export interface LoadResult {
  viewers: number;
  namespaces: number;
  swarms: number;
  connect: { ok: boolean; ms: number; firstEvent: number };
  memory?: MemoryFigures & { processes: number };
  stats?: { ok: boolean; expectedMembers: number; members: number; mismatches: string[]; error?: string };
  fanout: FanoutRun[];
  fanoutMedian?: { lastMs: number; p50Ms: number; p99Ms: number };
  counts?: { ok: boolean; settledAfterMs: number | null; mismatches: string[] };
  totals: SwarmTotals;
  problems: string[];
}

function countMismatches(counts: Record<string, NamespaceCounts>, expect: Record<string, number>): string[] {
  const out: string[] = [];
  for (const [ns, want] of Object.entries(expect)) {
    const c = counts[ns] ?? { sockets: 0, min: -1, max: -1, matching: 0 };
    if (c.sockets !== want || c.matching !== c.sockets) {
      out.push(`${ns}: ${c.sockets}/${want} viewers live, ${c.matching} see ${want}, seen range ${c.min}..${c.max}`);
    }
  }
  return out;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const problems: string[] = [];
  const expect = expectedPerNamespace(o.viewers, o.namespaces);
  let idle: TreeMemory | undefined;
  if (o.daemonPid !== undefined) {
    idle = await sampleTreeMemory(o.daemonPid);
    o.log(`idle: ${idle.pids.length} processes, RSS ${(idle.rssKiB / 1024).toFixed(1)} MiB`);
  }

  const fleet = new SwarmFleet(o);
  const sideAddress = fleet.sideAddress;
  try {
    fleet.start();
    o.log(`connecting ${o.viewers} viewers over ${o.namespaces.length} namespaces with ${fleet.members.length} swarms`);
    const ready = await fleet.waitReady(o.readyTimeoutSeconds * 1000, (t) =>
      o.log(`  connected ${t.connected}, first event ${t.firstEvent}, errors ${t.errors}, closed ${t.closedByPeer}`),
    );
    o.log(`connect: ${ready.ok ? 'all viewers have their first event' : 'INCOMPLETE'} after ${ready.ms.toFixed(0)} ms`);
    if (!ready.ok) problems.push(`only ${ready.totals.firstEvent}/${o.viewers} viewers got a first event within ${o.readyTimeoutSeconds}s`);
    const readyAt = nowMs();
    const result: LoadResult = {
      viewers: o.viewers,
      namespaces: o.namespaces.length,
      swarms: fleet.members.length,
      connect: { ok: ready.ok, ms: Math.round(ready.ms), firstEvent: ready.totals.firstEvent },
      fanout: [],
      totals: ready.totals,
      problems,
    };

    await sleep(o.settleSeconds * 1000);
    let loaded: TreeMemory | undefined;
    if (o.daemonPid !== undefined) {
      loaded = await sampleTreeMemory(o.daemonPid);
      o.log(`loaded: RSS ${(loaded.rssKiB / 1024).toFixed(1)} MiB`);
    }

    if (o.statsPort !== undefined) {
      const c = await checkStats(o.host, o.statsPort, expect, sideAddress);
      result.stats = { ok: c.ok, expectedMembers: c.expected, members: c.members, mismatches: c.mismatches, error: c.error };
      if (!result.stats.ok) problems.push(`stats port: ${result.stats.error ?? result.stats.mismatches.join('; ')}`);
    }

    if (o.notificationPort !== undefined) {
      for (let r = 0; r < o.runs; r++) {
        let outcomes: NotifyOutcome[] = [];
        const p = await fleet.probe(
          (id) => `bench=${id}`,
          async (id) => {
            outcomes = await notifyAll(o.host, o.notificationPort!, o.namespaces, 'bench', id, sideAddress);
          },
          o.probeTimeoutSeconds * 1000,
        );
        const run: FanoutRun = {
          expected: p.expected,
          received: p.received,
          notifyMs: Math.round(p.notifyMs * 10) / 10,
          notifyFailures: outcomes.filter((x) => x.status !== 200),
          minMs: histPercentile(p.hist, 0),
          p50Ms: histPercentile(p.hist, 50),
          p99Ms: histPercentile(p.hist, 99),
          lastMs: histPercentile(p.hist, 100),
        };
        result.fanout.push(run);
        o.log(`fan-out ${r + 1}/${o.runs}: ${run.received}/${run.expected} received, last ${run.lastMs.toFixed(1)} ms, p50 ${run.p50Ms.toFixed(1)} ms`);
        if (run.received < run.expected) problems.push(`fan-out run ${r + 1}: ${run.expected - run.received} viewers never got the notification`);
        if (run.notifyFailures.length > 0) problems.push(`fan-out run ${r + 1}: notification answers ${JSON.stringify(run.notifyFailures.map((f) => f.status))}`);
        await sleep(1000);
      }
      result.fanoutMedian = {
        lastMs: median(result.fanout.map((f) => f.lastMs)),
        p50Ms: median(result.fanout.map((f) => f.p50Ms)),
        p99Ms: median(result.fanout.map((f) => f.p99Ms)),
      };
    }

    if (loaded && idle) {
      const after = await sampleTreeMemory(o.daemonPid!, 3);
      result.memory = { ...memoryFigures(idle, loaded, after, ready.totals.firstEvent), processes: loaded.pids.length };
    }

    // Counts streamed to viewers are throttled (delta ratio / min delay / max delay), so poll
    // until every viewer shows its namespace's exact size or the wait runs out.
    if (o.countWaitSeconds > 0) {
      let mismatches: string[] = [];
      let settledAfterMs: number | null = null;
      const until = nowMs() + o.countWaitSeconds * 1000;
      for (;;) {
        mismatches = countMismatches(await fleet.counts(expect), expect);
        if (mismatches.length === 0) {
          settledAfterMs = Math.round(nowMs() - readyAt);
          break;
        }
        if (nowMs() > until) break;
        await sleep(1000);
      }
      result.counts = { ok: mismatches.length === 0, settledAfterMs, mismatches };
      o.log(`counts: ${result.counts.ok ? `exact on every viewer ${settledAfterMs} ms after connect` : 'OFF'}`);
      if (!result.counts.ok) problems.push(`streamed counts: ${mismatches.join('; ')}`);
    }

    result.totals = await fleet.stop();
    const t = result.totals;
    if (t.errors > 0) problems.push(`socket errors: ${JSON.stringify(t.errorCodes)}`);
    if (t.closedByPeer > 0) problems.push(`${t.closedByPeer} streams closed by the daemon during the test`);
    if (t.badStatus > 0) problems.push(`non-200 answers: ${JSON.stringify(t.statusCodes)}`);
    return result;
  } finally {
    fleet.kill();
  }
}

const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;
const ms = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '-' : `${x.toFixed(1)} ms`);

export function loadRows(r: LoadResult): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ['viewers / namespaces / swarms', `${r.viewers} / ${r.namespaces} / ${r.swarms}`],
    ['all first events after', `${r.connect.ms} ms (${r.connect.firstEvent} viewers${r.connect.ok ? '' : ', INCOMPLETE'})`],
  ];
  if (r.memory) {
    const m = r.memory;
    rows.push(
      ['daemon RSS idle', `${mib(m.idleRssKiB)} (${m.processes} processes, PSS ${mib(m.idlePssKiB)})`],
      ['daemon RSS loaded', `${mib(m.loadedRssKiB)} (PSS ${mib(m.loadedPssKiB)})`],
      ['daemon RSS after fan-out', mib(m.afterFanoutRssKiB)],
      ['bytes per viewer (RSS)', `${m.bytesPerViewerRss} B (PSS ${m.bytesPerViewerPss} B)`],
    );
  }
  if (r.stats) rows.push(['stats port members', `${r.stats.members}/${r.stats.expectedMembers}${r.stats.ok ? '' : ' MISMATCH'}`]);
  r.fanout.forEach((f, k) =>
    rows.push([`fan-out ${k + 1}`, `last ${ms(f.lastMs)}, p50 ${ms(f.p50Ms)}, p99 ${ms(f.p99Ms)}, ${f.received}/${f.expected} got it, notify GETs ${ms(f.notifyMs)}`]),
  );
  if (r.fanoutMedian) rows.push(['fan-out median', `last ${ms(r.fanoutMedian.lastMs)}, p50 ${ms(r.fanoutMedian.p50Ms)}, p99 ${ms(r.fanoutMedian.p99Ms)}`]);
  if (r.counts) rows.push(['streamed counts', r.counts.ok ? `exact ${r.counts.settledAfterMs} ms after connect` : 'OFF']);
  rows.push(['socket errors / closed by daemon', `${r.totals.errors} / ${r.totals.closedByPeer}`]);
  for (const p of r.problems) rows.push(['PROBLEM', p]);
  return rows;
}

export const loadOptionSpec = {
  host: { type: 'string', default: '127.0.0.1' },
  viewers: { type: 'string', default: '10000' },
  namespaces: { type: 'string', default: '10' },
  'namespace-prefix': { type: 'string', default: 'bench' },
  'per-swarm': { type: 'string', default: '5000' },
  rate: { type: 'string', default: '2000' },
  'source-base': { type: 'string', default: '2' },
  runs: { type: 'string', default: '5' },
  'settle-seconds': { type: 'string', default: '3' },
  'ready-timeout': { type: 'string', default: '120' },
  'probe-timeout': { type: 'string', default: '15' },
  'count-wait': { type: 'string', default: '40' },
  'max-seconds': { type: 'string', default: '600' },
  quiet: { type: 'boolean', default: false },
} as const;

export function intOpt(values: Record<string, unknown>, name: string, min: number, max: number): number;
export function intOpt(values: Record<string, unknown>, name: string, min: number, max: number, optional: true): number | undefined;
export function intOpt(values: Record<string, unknown>, name: string, min: number, max: number, optional = false): number | undefined {
  return values[name] === undefined && optional ? undefined : intFlag(values, name, min, max);
}

/** LoadOptions from parsed flags of loadOptionSpec; ports and pid are filled by the caller. */
export function loadOptionsFrom(v: Record<string, unknown>): Omit<LoadOptions, 'port'> {
  const nsCount = intOpt(v, 'namespaces', 1, 100000);
  const prefix = String(v['namespace-prefix']);
  const quiet = v.quiet === true;
  return {
    host: String(v.host),
    viewers: intOpt(v, 'viewers', 1, 200000),
    namespaces: Array.from({ length: nsCount }, (_, k) => `${prefix}-${k}`),
    perSwarm: intOpt(v, 'per-swarm', 1, 15000),
    rate: intOpt(v, 'rate', 1, 1000000),
    sourceBase: intOpt(v, 'source-base', 2, 254),
    runs: intOpt(v, 'runs', 0, 1000),
    settleSeconds: intOpt(v, 'settle-seconds', 0, 600),
    readyTimeoutSeconds: intOpt(v, 'ready-timeout', 1, 3600),
    probeTimeoutSeconds: intOpt(v, 'probe-timeout', 1, 600),
    countWaitSeconds: intOpt(v, 'count-wait', 0, 600),
    maxSeconds: intOpt(v, 'max-seconds', 10, 86400),
    log: quiet ? () => {} : (line) => process.stderr.write(`${line}\n`),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...loadOptionSpec,
      port: { type: 'string' },
      'notification-port': { type: 'string' },
      'stats-port': { type: 'string' },
      'daemon-pid': { type: 'string' },
    },
    strict: true,
  });
  const opts: LoadOptions = {
    ...loadOptionsFrom(values),
    port: intOpt(values, 'port', 1, 65535),
    notificationPort: intOpt(values, 'notification-port', 1, 65535, true),
    statsPort: intOpt(values, 'stats-port', 1, 65535, true),
    daemonPid: intOpt(values, 'daemon-pid', 1, 1 << 30, true),
  };
  const deadline = setTimeout(() => {
    process.stderr.write(`sse-load: --max-seconds ${opts.maxSeconds} reached, giving up\n`);
    process.exit(3);
  }, opts.maxSeconds * 1000);
  deadline.unref();
  const result = await runLoad(opts);
  process.stdout.write(`${JSON.stringify(result)}\n\n${table(loadRows(result))}\n`);
  process.exitCode = result.problems.length === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stderr.write(`sse-load: ${(err as Error).stack ?? err}\n`);
    process.exit(2);
  });
}
