// One measured run against one server (audience-meter or nginx + nchan), shared by the issue-3 scenarios:
//
//   1. idle memory of the server's process tree;
//   2. a ramp of VIEWERS SSE streams (or WebSocket viewers, --transport ws) over NAMESPACES, from several swarm processes and source addresses,
//      as fast as the server takes them (at most --inflight streams waiting for their first event, so
//      the listen backlog never overflows): connections and first events per second;
//   3. after a settle time, loaded memory → bytes per viewer; the stats port checked (audience-meter);
//   4. fan-out: one message per namespace at once, time until the last viewer has it (several probes);
//   5. optionally a count push (audience-meter): 10 % more viewers join every namespace, which makes the
//      notifier push the new count to everyone; time from the first to the last viewer seeing it.

import { readdirSync, readFileSync } from 'node:fs';
import { type NotifyOutcome, type StatsCheck, checkStats, sleep } from './daemon-io.js';
import { type MemoryFigures, type TreeMemory, memoryFigures, processTree, sampleTreeMemory } from './proc-mem.js';
import { CpuMeter, type CpuUse, log, median, procJiffies, round } from './run-kit.js';
import { type FleetTimings, SwarmFleet, type Transport } from './swarm-fleet.js';
import { type SwarmTotals, histPercentile } from './swarm-protocol.js';
import { type Target, publishOk } from './targets.js';

export interface ViewerRunOptions {
  viewers: number;
  namespaces: string[];
  /** Most sockets per swarm process. */
  perSwarm: number;
  /** Streams opened per second by each swarm, at most. */
  rate: number;
  /** Streams waiting for their first event, over all swarms, at most (0: no cap). */
  inflight: number;
  sourceBase: number;
  /** SSE requests (the default) or WebSocket upgrades, for the crowd and the joiners alike. */
  transport?: Transport;
  settleSeconds: number;
  /** Message fan-out probes (0: none). */
  probes: number;
  /** Also time a count push (audience-meter only). */
  countPush: boolean;
  readyTimeoutSeconds: number;
  probeTimeoutSeconds: number;
  maxSeconds: number;
  /** Wait up to this long for every viewer's last streamed count to be exact (0: no check). */
  countWaitSeconds?: number;
  /** Identity tokens, one per line (bench/tokens.ts): viewer k asks with line k. */
  tokenFile?: string;
  /** Runs once the crowd is in and settled (after the loaded memory sample), before the probes: a heap snapshot, say. */
  whileLoaded?: (viewers: number) => Promise<void>;
}

export interface AcceptFigures {
  /** Streams that got their first event. */
  viewers: number;
  /** First socket created → last TCP connect / last first event, ms. */
  connectSpanMs: number;
  firstEventSpanMs: number;
  /** viewers / span. */
  connectsPerSecond: number;
  firstEventsPerSecond: number;
  /** First events per second between 10 % and 90 % of the viewers (the steady part of the ramp). */
  steadyFirstEventsPerSecond: number;
  /** Socket created → first event, per stream. */
  firstEventP50Ms: number;
  firstEventP99Ms: number;
  firstEventMaxMs: number;
  /** Socket created → TCP connected: a second or more means a SYN was dropped and retried. */
  connectMaxMs: number;
  connectsOver1s: number;
}

export interface FanoutProbe {
  expected: number;
  received: number;
  publishMs: number;
  publishFailures: NotifyOutcome[];
  firstMs: number;
  p50Ms: number;
  p99Ms: number;
  lastMs: number;
}

export interface CountPushFigures {
  joiners: number;
  value: number;
  expected: number;
  received: number;
  /** From the joiners starting to all joiners having their first event. */
  joinedMs: number;
  /** Relative to the joiners starting. */
  firstMs: number;
  lastMs: number;
  /** First to last viewer: the push's own fan-out time (the notifier decides it on its 2 s tick). */
  spreadMs: number;
}

export interface ProcessFiles {
  pid: number;
  rssKiB: number;
  /** The same process's RSS before the crowd (-1 if it was not there): what each process adds per viewer. */
  idleRssKiB: number;
  openFiles: number;
  fileLimit: number;
}

export interface ViewerRunResult {
  target: string;
  kind: Target['kind'];
  transport: Transport;
  viewers: number;
  namespaces: number;
  swarms: number;
  ready: boolean;
  accept: AcceptFigures;
  memory: MemoryFigures & { processes: ProcessFiles[] };
  stats?: StatsCheck;
  /** Every viewer's last streamed count against the truth (after the ramp; 2.x throttling applies). */
  streamedCounts?: { ok: boolean; exactAfterMs: number | null; mismatches: string[] };
  fanout: FanoutProbe[];
  fanoutLastMs: number;
  fanoutP50Ms: number;
  countPush?: CountPushFigures;
  cpu: CpuUse;
  /** CPU of each server process during the ramp (first process: the primary or nginx's master), in cores and seconds. */
  rampCpu: Array<{ pid: number; cores: number; seconds: number }>;
  /** CPU seconds of all server processes over the ramp, and over the message probes (the push rounds). */
  serverCpuRampSeconds: number;
  serverCpuProbesSeconds: number;
  /** The ramp on the monotonic clock in µs (the clock of V8's .cpuprofile timestamps). */
  rampWindowUs: [number, number];
  totals: SwarmTotals;
  problems: string[];
}

export function expectedPerNamespace(viewers: number, namespaces: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  namespaces.forEach((ns, k) => {
    out[ns] = Math.floor(viewers / namespaces.length) + (k < viewers % namespaces.length ? 1 : 0);
  });
  return out;
}

/** Open files and their limit for each process of a tree (from /proc). */
export function processFiles(mem: TreeMemory, idle?: TreeMemory): ProcessFiles[] {
  return mem.perProcess.map((p) => {
    let openFiles = -1;
    let fileLimit = -1;
    try {
      openFiles = readdirSync(`/proc/${p.pid}/fd`).length;
      const line = readFileSync(`/proc/${p.pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
      fileLimit = Number(line?.split(/\s{2,}/)[1]);
    } catch {
      /* gone */
    }
    const idleRssKiB = idle?.perProcess.find((q) => q.pid === p.pid)?.rssKiB ?? -1;
    return { pid: p.pid, rssKiB: p.rssKiB, idleRssKiB, openFiles, fileLimit };
  });
}

export function acceptFigures(t: FleetTimings, viewers: number): AcceptFigures {
  const connectSpanMs = t.lastConnectAt - t.firstOpenAt;
  const firstEventSpanMs = t.lastFirstEventAt - t.firstOpenAt;
  // Steady rate: the 10 ms slots in which the 10 % and the 90 % marks were crossed.
  let cum = 0;
  let s10 = NaN;
  let s90 = NaN;
  for (const [slot, n] of t.timeline) {
    cum += n;
    if (Number.isNaN(s10) && cum >= 0.1 * viewers) s10 = slot;
    if (Number.isNaN(s90) && cum >= 0.9 * viewers) s90 = slot;
  }
  const steady = s90 > s10 ? (0.8 * viewers) / ((s90 - s10) / 100) : NaN;
  let connectsOver1s = 0;
  for (const [b, n] of t.connect.buckets) if (Math.exp((b + 0.5) * Math.log(1.01)) / 1000 >= 1000) connectsOver1s += n;
  return {
    viewers,
    connectSpanMs: round(connectSpanMs, 1),
    firstEventSpanMs: round(firstEventSpanMs, 1),
    connectsPerSecond: Math.round((viewers * 1000) / connectSpanMs),
    firstEventsPerSecond: Math.round((viewers * 1000) / firstEventSpanMs),
    steadyFirstEventsPerSecond: Math.round(steady),
    firstEventP50Ms: round(histPercentile(t.firstEvent, 50), 1),
    firstEventP99Ms: round(histPercentile(t.firstEvent, 99), 1),
    firstEventMaxMs: round(histPercentile(t.firstEvent, 100), 1),
    connectMaxMs: round(histPercentile(t.connect, 100), 1),
    connectsOver1s,
  };
}

/**
 * The crowd of a viewer run: `perSwarm` viewers a swarm, `rate` a second each, at most `inflight` waiting in
 * all (0: no cap), identified by `tokenFile` when given.
 */
export function crowdFleet(
  target: Target,
  o: Pick<ViewerRunOptions, 'viewers' | 'namespaces' | 'perSwarm' | 'rate' | 'inflight' | 'sourceBase' | 'maxSeconds' | 'transport'> & { tokenFile?: string },
): SwarmFleet {
  const swarms = Math.ceil(o.viewers / o.perSwarm);
  return new SwarmFleet({
    host: target.host,
    port: target.port,
    namespaces: o.namespaces,
    viewers: o.viewers,
    perSwarm: o.perSwarm,
    rate: o.rate,
    sourceBase: o.sourceBase,
    maxSeconds: o.maxSeconds,
    maxInflight: o.inflight > 0 ? Math.max(1, Math.ceil(o.inflight / swarms)) : 0,
    tokenFile: o.tokenFile,
    transport: o.transport,
  });
}

export async function runViewers(target: Target, o: ViewerRunOptions): Promise<ViewerRunResult> {
  const problems: string[] = [];
  const expect = expectedPerNamespace(o.viewers, o.namespaces);
  const idle = await sampleTreeMemory(target.pid);
  log(`${target.label}: idle RSS ${(idle.rssKiB / 1024).toFixed(1)} MiB over ${idle.pids.length} processes`);
  await target.prepare(o.namespaces);

  const swarms = Math.ceil(o.viewers / o.perSwarm);
  const fleet = crowdFleet(target, o);
  let joiners: SwarmFleet | undefined;
  try {
    const cpu = new CpuMeter(() => [target.pid, ...fleet.pids(), ...(joiners?.pids() ?? [])]);
    const serverPids = processTree(target.pid);
    const rampStart = serverPids.map(procJiffies);
    const rampT0 = performance.now();
    const rampStartUs = Number(process.hrtime.bigint() / 1000n);
    fleet.start();
    log(`${target.label}: ${o.viewers} ${o.transport === 'ws' ? 'WebSocket' : 'SSE'} viewers over ${o.namespaces.length} namespaces from ${fleet.members.length} swarms`);
    const ready = await fleet.waitReady(o.readyTimeoutSeconds * 1000, (t) =>
      log(`  connected ${t.connected}, first event ${t.firstEvent}, errors ${t.errors}, closed ${t.closedByPeer}, non-200 ${t.badStatus}`),
    );
    const rampSeconds = (performance.now() - rampT0) / 1000;
    const rampWindowUs: [number, number] = [rampStartUs, Number(process.hrtime.bigint() / 1000n)];
    const rampCpu = serverPids.map((pid, k) => {
      const seconds = (procJiffies(pid) - rampStart[k]!) / 100;
      return { pid, cores: round(seconds / rampSeconds, 2), seconds: round(seconds, 2) };
    });
    log(`${target.label}: server CPU during the ramp (cores): ${rampCpu.map((p) => p.cores).join(', ')}`);
    const timings = await fleet.timings();
    const accept = acceptFigures(timings, ready.totals.firstEvent);
    log(`${target.label}: ${ready.ok ? 'all' : 'ONLY'} ${ready.totals.firstEvent} first events in ${accept.firstEventSpanMs} ms = ${accept.firstEventsPerSecond}/s (steady ${accept.steadyFirstEventsPerSecond}/s)`);
    if (!ready.ok) {
      problems.push(`only ${ready.totals.firstEvent}/${o.viewers} viewers got a first event within ${o.readyTimeoutSeconds}s`);
      for (const m of fleet.members) {
        log(`  swarm ${m.address} pid ${m.child.pid}: ${m.exited ? `exited ${m.exitCode}` : 'running'}, opened ${m.totals.opened}, connected ${m.totals.connected}, first events ${m.totals.firstEvent}, errors ${JSON.stringify(m.totals.errorCodes)}`);
      }
    }

    await sleep(o.settleSeconds * 1000);
    const loaded = await sampleTreeMemory(target.pid);
    const processes = processFiles(loaded, idle);
    const viewers = Math.max(1, ready.totals.firstEvent);
    log(`${target.label}: loaded RSS ${(loaded.rssKiB / 1024).toFixed(1)} MiB = ${Math.round(((loaded.rssKiB - idle.rssKiB) * 1024) / viewers)} B per viewer`);
    if (o.whileLoaded) await o.whileLoaded(viewers);

    let stats: ViewerRunResult['stats'];
    if (target.statsPort !== undefined) {
      stats = await checkStats(target.host, target.statsPort, expect, fleet.sideAddress);
      if (!stats.ok) problems.push(`stats port: ${stats.error ?? stats.mismatches.join('; ')}`);
    }

    let streamedCounts: ViewerRunResult['streamedCounts'];
    if ((o.countWaitSeconds ?? 0) > 0) {
      const start = performance.now();
      let mismatches: string[] = [];
      for (;;) {
        const counts = await fleet.counts(expect);
        mismatches = [];
        for (const [ns, want] of Object.entries(expect)) {
          const c = counts[ns];
          if (!c || c.sockets !== want || c.matching !== want) {
            mismatches.push(`${ns}: ${c?.matching ?? 0}/${want} viewers see ${want} (seen ${c?.min ?? -1}..${c?.max ?? -1})`);
          }
        }
        if (mismatches.length === 0 || performance.now() - start > o.countWaitSeconds! * 1000) break;
        await sleep(1000);
      }
      streamedCounts = { ok: mismatches.length === 0, exactAfterMs: mismatches.length === 0 ? Math.round(performance.now() - start) : null, mismatches };
      log(`${target.label}: streamed counts ${streamedCounts.ok ? `exact on every viewer (${streamedCounts.exactAfterMs} ms after the check began)` : 'NOT exact'}`);
      if (!streamedCounts.ok) problems.push(`streamed counts: ${mismatches.slice(0, 5).join('; ')}`);
    }

    const fanout: FanoutProbe[] = [];
    const probesStart = serverPids.map(procJiffies);
    for (let r = 0; r < o.probes; r++) {
      let outcomes: NotifyOutcome[] = [];
      const p = await fleet.probe(
        (id) => `bench=${id}`,
        async (id) => {
          outcomes = await target.publish(o.namespaces, 'bench', id, fleet.sideAddress);
        },
        o.probeTimeoutSeconds * 1000,
      );
      const probe: FanoutProbe = {
        expected: p.expected,
        received: p.received,
        publishMs: round(p.notifyMs, 1),
        publishFailures: outcomes.filter((x) => !publishOk(x)),
        firstMs: round(histPercentile(p.hist, 0), 1),
        p50Ms: round(histPercentile(p.hist, 50), 1),
        p99Ms: round(histPercentile(p.hist, 99), 1),
        lastMs: round(histPercentile(p.hist, 100), 1),
      };
      fanout.push(probe);
      log(`${target.label}: fan-out ${r + 1}/${o.probes}: ${probe.received}/${probe.expected}, last ${probe.lastMs} ms, p50 ${probe.p50Ms} ms`);
      if (probe.received < probe.expected) problems.push(`fan-out ${r + 1}: ${probe.expected - probe.received} viewers never got the message`);
      if (probe.publishFailures.length > 0) problems.push(`fan-out ${r + 1}: publish answers ${JSON.stringify(probe.publishFailures.map((f) => f.status))}`);
      await sleep(1000);
    }
    const serverCpuProbesSeconds = round(serverPids.reduce((sum, pid, k) => sum + procJiffies(pid) - probesStart[k]!, 0) / 100, 2);

    let countPush: CountPushFigures | undefined;
    if (o.countPush && target.kind === 'audience-meter') {
      // 10 % more in every namespace: the 2.x notifier (delta ratio 0.1) pushes the new count on its next tick.
      const perNs = Math.floor(o.viewers / o.namespaces.length);
      const extraPerNs = Math.max(1, Math.ceil(perNs * 0.1));
      const count = extraPerNs * o.namespaces.length;
      const value = perNs + extraPerNs;
      joiners = new SwarmFleet({
        host: target.host,
        port: target.port,
        namespaces: o.namespaces,
        viewers: count,
        perSwarm: o.perSwarm,
        rate: 20_000,
        sourceBase: o.sourceBase + SwarmFleet.addressesFor({ viewers: o.viewers, perSwarm: o.perSwarm }) + 2,
        maxSeconds: o.maxSeconds,
        transport: o.transport,
      });
      let joinedMs = NaN;
      const p = await fleet.probe(
        () => String(value),
        async () => {
          const t0 = performance.now();
          joiners!.start();
          const r = await joiners!.waitReady(30_000);
          joinedMs = performance.now() - t0;
          if (!r.ok) problems.push(`count push: only ${r.totals.firstEvent}/${count} joiners connected`);
        },
        o.probeTimeoutSeconds * 1000,
      );
      countPush = {
        joiners: count,
        value,
        expected: p.expected,
        received: p.received,
        joinedMs: round(joinedMs, 1),
        firstMs: round(histPercentile(p.hist, 0), 1),
        lastMs: round(histPercentile(p.hist, 100), 1),
        spreadMs: round(histPercentile(p.hist, 100) - histPercentile(p.hist, 0), 1),
      };
      log(`${target.label}: count push to ${value}: ${p.received}/${p.expected}, first ${countPush.firstMs} ms, last ${countPush.lastMs} ms, spread ${countPush.spreadMs} ms`);
      if (p.received < p.expected) problems.push(`count push: ${p.expected - p.received} viewers never saw ${value}`);
    }

    const after = await sampleTreeMemory(target.pid, 3);
    const cpuUse = cpu.end();
    const totals = await fleet.stop();
    if (joiners) await joiners.stop();
    if (totals.errors > 0) problems.push(`socket errors: ${JSON.stringify(totals.errorCodes)}`);
    if (totals.closedByPeer > 0) problems.push(`${totals.closedByPeer} streams closed by the server during the test`);
    if (totals.badStatus > 0) problems.push(`non-200 answers: ${JSON.stringify(totals.statusCodes)}`);
    if (target.isExited()) problems.push('server exited during the test');
    return {
      target: target.label,
      kind: target.kind,
      transport: o.transport ?? 'sse',
      viewers: o.viewers,
      namespaces: o.namespaces.length,
      swarms,
      ready: ready.ok,
      accept,
      memory: { ...memoryFigures(idle, loaded, after, viewers), processes },
      stats,
      streamedCounts,
      fanout,
      fanoutLastMs: median(fanout.map((f) => f.lastMs)),
      fanoutP50Ms: median(fanout.map((f) => f.p50Ms)),
      countPush,
      cpu: cpuUse,
      rampCpu,
      serverCpuRampSeconds: round(rampCpu.reduce((sum, p) => sum + p.seconds, 0), 2),
      serverCpuProbesSeconds,
      rampWindowUs,
      totals,
      problems,
    };
  } finally {
    fleet.kill();
    joiners?.kill();
  }
}

/** Flags of a crowd of idle viewers, with their defaults (30,000 viewers over 10 namespaces). */
export const crowdSpec = {
  viewers: { type: 'string', default: '30000' },
  namespaces: { type: 'string', default: '10' },
  'namespace-prefix': { type: 'string', default: 'bench' },
  'per-swarm': { type: 'string', default: '5000' },
  rate: { type: 'string', default: '20000' },
  inflight: { type: 'string', default: '2000' },
  'source-base': { type: 'string', default: '2' },
  'ready-timeout': { type: 'string', default: '180' },
  // How the viewers connect: sse (GET with Accept: text/event-stream) or ws (a WebSocket upgrade, same path).
  transport: { type: 'string', default: 'sse' },
} as const;

/** Flags every viewer scenario accepts: the crowd, then the settle time and the fan-out probes. */
export const viewerSpec = {
  ...crowdSpec,
  settle: { type: 'string', default: '5' },
  probes: { type: 'string', default: '3' },
  'probe-timeout': { type: 'string', default: '20' },
} as const;
