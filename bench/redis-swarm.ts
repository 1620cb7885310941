// Scale, simulated: many cluster nodes per process speaking the daemon's own protocol (its RedisCluster and
// MulticastCluster classes, see redis-swarm-nodes.ts), with namespaces of Zipf popularity, against a
// redis-server this script starts on a free loopback port (never the shared one, so INFO measures this run
// alone). For each point (transport × nodes × namespaces) it measures, over --rounds rounds:
//
//   per node   CPU (the full nodes: whole path; the lean ones: sending and parsing), bytes and commands sent,
//              bytes received (Redis: every connection of the node; multicast: every other node's datagrams),
//              envelopes received (Redis: pub/sub messages and XREAD answers with entries) and state messages,
//              and a full node's reads of its subscriber socket (each a wake of its process at most)
//   Redis      CPU (used_cpu_sys + used_cpu_user), commands, bytes in and out, from INFO deltas
//   join       how long until every node had asserted its own state (bounded by --join-timeout)
//   convergence  a probe namespace changed on one node until every full node's table shows it
//   machine    cores used by this run and by others (CpuMeter): "saturated" when the 2 cores are busy
//
//   npm run build && node dist/bench/redis-swarm.js [--transport redis,multicast] [--nodes 10,50,200] \
//        [--namespaces 1000,10000,100000] [--viewers-per-namespace 10] [--change 0.01] [--rounds 5] \
//        [--interval 2000] [--processes 2] [--full 2] [--join-timeout 300] [--out bench/results/redis-swarm.json] \
//        [--cpu-prof <file prefix>]
//
// --cpu-prof writes a V8 CPU profile of the full nodes' process over each point's measured window (not its
// join) to <prefix>-<transport>-<nodes>x<namespaces>.cpuprofile (Chrome DevTools, or bench/cpuprofile-top.js).
//
// Multicast runs only up to 64 nodes (the transport's peer cap) and every multicast node is full.
import { type ChildProcess, fork } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePorts, sleep } from './daemon-io.js';
import { redisInfo, startRedis } from './redis-server.js';
import type { FromNodes, NodesSetup, ToNodes } from './redis-swarm-nodes.js';
import { CpuMeter, log, median, percentile, round, runMain } from './run-kit.js';
import { repoRoot } from './targets.js';

const NODES_SCRIPT = fileURLToPath(new URL('./redis-swarm-nodes.js', import.meta.url));
const MULTICAST_MAX_NODES = 64;
/** Above this many bytes of whole states to move at join (every node reads every node's: N × the cluster's state), a point is skipped. */
const MAX_JOIN_FANOUT_BYTES = 3e9;

export interface SwarmPoint {
  transport: 'redis' | 'multicast';
  nodes: number;
  namespaces: number;
  viewers: number;
  eventsPerRound: number;
  rounds: number;
  intervalMs: number;
  /** Namespaces held, summed over the nodes (each node holds its share of the popular ones). */
  heldNamespaces: number;
  /** Nodes joined (own state asserted) when the point started, and how long the slowest process took (bounded by --join-timeout). */
  join?: { joined: number; ms: number };
  perNode: { fullCpuMsPerRound: number; leanCpuMsPerRound: number; sentBytesPerRound: number; sentCommandsPerRound: number; receivedBytesPerRound: number; envelopesPerRound?: number; stateMessagesPerRound?: number; fullSubscriberReadsPerRound?: number };
  redis?: { cpuMsPerRound: number; commandsPerRound: number; inBytesPerRound: number; outBytesPerRound: number };
  convergenceMs: { median: number; p95: number; max: number; probes: number; seen: number };
  machine: { oursCores: number; othersCores: number; saturated: boolean };
  dropped: number;
  skipped?: string;
}

export interface SwarmFile {
  measured: string;
  machine: string;
  points: SwarmPoint[];
}

const list = (s: string): number[] => s.split(',').map(Number);

class NodesProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<{ namespaces: number; joined: number; joinMs: number }>;
  private waiting: ((m: FromNodes) => void) | undefined;
  constructor(setup: NodesSetup, onSeen: (m: FromNodes & { t: 'seen' | 'probed' }) => void) {
    this.child = fork(NODES_SCRIPT, [], { execArgv: ['--max-old-space-size=8192'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.ready = new Promise((resolveReady, reject) => {
      this.child.once('exit', (code) => reject(new Error(`a nodes process exited with ${code}`)));
      this.child.on('message', (m: FromNodes) => {
        if (m.t === 'ready') resolveReady(m);
        else if (m.t === 'seen' || m.t === 'probed') onSeen(m);
        else this.waiting?.(m);
      });
    });
    this.tell({ t: 'setup', setup });
  }
  tell(m: ToNodes): void {
    this.child.send(m);
  }
  stats(): Promise<FromNodes & { t: 'stats' }> {
    return new Promise((r) => {
      this.waiting = (m) => r(m as FromNodes & { t: 'stats' });
      this.tell({ t: 'stats' });
    });
  }
}

/** The whole cluster's namespaces held, summed over nodes, in expectation: Σ_k N (1 − e^(−V_k / N)). */
function expectedHeld(nodes: number, namespaces: number, viewers: number): number {
  let h = 0;
  for (let k = 1; k <= namespaces; k++) h += 1 / k;
  let held = 0;
  for (let k = 1; k <= namespaces; k++) held += nodes * (1 - Math.exp(-viewers / (k * h) / nodes));
  return held;
}

async function runPoint(o: { transport: 'redis' | 'multicast'; nodes: number; namespaces: number; viewersPerNs: number; change: number; rounds: number; intervalMs: number; processes: number; full: number; joinTimeoutMs: number; cpuProfile: string | undefined }): Promise<SwarmPoint> {
  const viewers = o.viewersPerNs * o.namespaces;
  const eventsPerRound = Math.max(1, Math.round(o.change * o.namespaces));
  const full = o.transport === 'multicast' ? o.nodes : Math.min(o.full, o.nodes);
  const lean = o.nodes - full;
  const base = { transport: o.transport, nodes: o.nodes, namespaces: o.namespaces, viewers, eventsPerRound, rounds: o.rounds, intervalMs: o.intervalMs };
  // A whole state costs ~20 B per namespace held; every node reads every node's at join (multicast: receives).
  const joinFanout = expectedHeld(o.nodes, o.namespaces, viewers) * 20 * o.nodes;
  if (joinFanout > MAX_JOIN_FANOUT_BYTES) {
    return { ...base, heldNamespaces: NaN, perNode: { fullCpuMsPerRound: NaN, leanCpuMsPerRound: NaN, sentBytesPerRound: NaN, sentCommandsPerRound: NaN, receivedBytesPerRound: NaN },
      convergenceMs: { median: NaN, p95: NaN, max: NaN, probes: 0, seen: 0 }, machine: { oursCores: NaN, othersCores: NaN, saturated: false }, dropped: 0,
      skipped: `the join alone would move ${(joinFanout / 1e9).toFixed(1)} GB of whole states` };
  }
  const redis = o.transport === 'redis' ? await startRedis() : undefined;
  const group = { host: `239.255.${randomInt(1, 255)}.${randomInt(1, 255)}`, port: (await freePorts(1))[0]! };
  const setup = (role: 'full' | 'lean', count: number): NodesSetup => ({
    transport: o.transport, role, count, clusterNodes: o.nodes, namespaces: o.namespaces, viewers, eventsPerRound,
    intervalMs: o.intervalMs, redisUrl: redis?.url ?? '', prefix: 'swarm:', group, joinTimeoutMs: o.joinTimeoutMs,
    ...(role === 'full' && o.cpuProfile ? { cpuProfileFile: resolve(`${o.cpuProfile}-${o.transport}-${o.nodes}x${o.namespaces}.cpuprofile`) } : {}),
  });
  const probes = new Map<number, { at: number; byFull: boolean; seen: Map<string, number> }>();
  const onSeen = (m: FromNodes & { t: 'seen' | 'probed' }): void => {
    const probe = probes.get(m.value);
    if (!probe) return;
    if (m.t === 'probed') Object.assign(probe, { at: m.at, byFull: m.full });
    else if (!probe.seen.has(m.node)) probe.seen.set(m.node, m.at);
  };
  // The full nodes live in a process of their own, so its CPU is theirs alone.
  const fullProcs = o.transport === 'redis' ? [new NodesProcess(setup('full', full), onSeen)]
    : Array.from({ length: o.processes }, (_, p) => Math.floor((full * (p + 1)) / o.processes) - Math.floor((full * p) / o.processes)).filter((n) => n > 0)
      .map((n) => new NodesProcess(setup('full', n), onSeen));
  const leanCounts = Array.from({ length: o.processes }, (_, p) => Math.floor((lean * (p + 1)) / o.processes) - Math.floor((lean * p) / o.processes)).filter((n) => n > 0);
  const leanProcs = leanCounts.map((n) => new NodesProcess(setup('lean', n), onSeen));
  const all = [...fullProcs, ...leanProcs];
  try {
    const ready = await Promise.all(all.map((p) => p.ready));
    const held = ready.reduce((a, r) => a + r.namespaces, 0);
    const join = { joined: ready.reduce((a, r) => a + r.joined, 0), ms: Math.max(...ready.map((r) => r.joinMs)) };
    log(`${o.transport} ${o.nodes} nodes × ${o.namespaces} namespaces: ${join.joined} joined in ${join.ms} ms (${held} namespaces held over the nodes); settling`);
    await sleep(3 * o.intervalMs);
    const meter = new CpuMeter(() => [...all.map((p) => p.child.pid!), ...(redis ? [redis.pid] : [])]);
    const info0 = redis ? await redisInfo(redis.client) : undefined;
    const stats0 = await Promise.all(all.map((p) => p.stats()));
    for (let r = 0; r < o.rounds; r++) {
      // One probe per round, on a random node, a little after the round starts.
      const value = 1_000_000 + r;
      probes.set(value, { at: NaN, byFull: false, seen: new Map() });
      const probeProcs = leanProcs.length > 0 ? leanProcs : fullProcs;
      probeProcs[randomInt(probeProcs.length)]!.tell({ t: 'probe', value });
      await sleep(o.intervalMs);
    }
    await sleep(o.intervalMs * 1.5); // the last probe's round
    const stats1 = await Promise.all(all.map((p) => p.stats()));
    const info1 = redis ? await redisInfo(redis.client) : undefined;
    const cpu = meter.end();
    const windowRounds = o.rounds + 1.5;
    const delta = (i: number, pick: (s: FromNodes & { t: 'stats' }) => number): number => pick(stats1[i]!) - pick(stats0[i]!);
    const sum = (procs: number[], pick: (s: FromNodes & { t: 'stats' }) => number): number => procs.reduce((a, i) => a + delta(i, pick), 0);
    const fullIdx = fullProcs.map((_, i) => i);
    const leanIdx = leanProcs.map((_, i) => fullProcs.length + i);
    const allIdx = [...fullIdx, ...leanIdx];
    const perNodeRound = (v: number): number => v / o.nodes / windowRounds;
    const sentBytes = perNodeRound(sum(allIdx, (s) => s.sentBytes));
    const received = o.transport === 'redis' ? perNodeRound(sum(allIdx, (s) => s.receivedBytes)) : sentBytes * (o.nodes - 1);
    // Every full node but the one that changed (it does not hear itself) must show the change.
    const convergence = [...probes.values()].map((p) => (p.seen.size === full - (p.byFull ? 1 : 0) ? Math.max(...p.seen.values()) - p.at : NaN));
    const point: SwarmPoint = {
      ...base,
      heldNamespaces: held,
      join,
      perNode: {
        fullCpuMsPerRound: round(sum(fullIdx, (s) => s.cpuUs) / 1000 / full / windowRounds, 2),
        leanCpuMsPerRound: lean > 0 ? round(sum(leanIdx, (s) => s.cpuUs) / 1000 / lean / windowRounds, 2) : NaN,
        sentBytesPerRound: round(sentBytes),
        sentCommandsPerRound: round(perNodeRound(sum(allIdx, (s) => s.sentCommands)), 2),
        receivedBytesPerRound: round(received),
        envelopesPerRound: round(perNodeRound(sum(allIdx, (s) => s.envelopes)), 1),
        stateMessagesPerRound: round(perNodeRound(sum(allIdx, (s) => s.stateMessages)), 1),
        fullSubscriberReadsPerRound: round(sum(fullIdx, (s) => s.subscriberReads) / full / windowRounds, 1),
      },
      ...(info0 && info1 ? {
        redis: {
          cpuMsPerRound: round((info1.cpuMs - info0.cpuMs) / windowRounds, 1),
          commandsPerRound: round((info1.commands - info0.commands - 2) / windowRounds, 1),
          inBytesPerRound: round((info1.inBytes - info0.inBytes) / windowRounds),
          outBytesPerRound: round((info1.outBytes - info0.outBytes) / windowRounds),
        },
      } : {}),
      convergenceMs: {
        median: round(median(convergence), 1),
        p95: round(percentile(convergence, 95), 1),
        max: round(Math.max(...convergence.filter(Number.isFinite)), 1),
        probes: probes.size,
        seen: convergence.filter(Number.isFinite).length,
      },
      machine: { oursCores: cpu.oursCores, othersCores: cpu.othersCores, saturated: cpu.oursCores + cpu.othersCores > 0.9 * cpu.cores },
      dropped: sum(allIdx, (s) => s.dropped),
    };
    log(JSON.stringify(point));
    return point;
  } finally {
    for (const p of all) if (p.child.connected) p.tell({ t: 'stop' });
    await Promise.race([Promise.all(all.map((p) => (p.child.exitCode !== null ? null : new Promise((r) => p.child.once('exit', r))))), sleep(5000)]);
    for (const p of all) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    redis?.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      transport: { type: 'string', default: 'redis,multicast' },
      nodes: { type: 'string', default: '10,50,200' },
      namespaces: { type: 'string', default: '1000,10000,100000' },
      'viewers-per-namespace': { type: 'string', default: '10' },
      change: { type: 'string', default: '0.01' },
      rounds: { type: 'string', default: '5' },
      interval: { type: 'string', default: '2000' },
      processes: { type: 'string', default: '2' },
      full: { type: 'string', default: '2' },
      'join-timeout': { type: 'string', default: '300' },
      out: { type: 'string', default: 'bench/results/redis-swarm.json' },
      'cpu-prof': { type: 'string' },
    },
    strict: true,
  });
  const points: SwarmPoint[] = [];
  for (const transport of values.transport!.split(',') as Array<'redis' | 'multicast'>) {
    for (const namespaces of list(values.namespaces!)) {
      for (const nodes of list(values.nodes!)) {
        if (transport === 'multicast' && nodes > MULTICAST_MAX_NODES) {
          log(`multicast ${nodes} nodes: skipped (the transport's cap is ${MULTICAST_MAX_NODES} peers)`);
          continue;
        }
        points.push(await runPoint({ transport, nodes, namespaces, viewersPerNs: Number(values['viewers-per-namespace']), change: Number(values.change),
          rounds: Number(values.rounds), intervalMs: Number(values.interval), processes: Number(values.processes), full: Number(values.full),
          joinTimeoutMs: Number(values['join-timeout']) * 1000, cpuProfile: values['cpu-prof'] }));
        writeFileSync(resolve(repoRoot, values.out!), `${JSON.stringify({ measured: new Date().toISOString(), machine: '2 cores shared', points } satisfies SwarmFile, null, 1)}\n`);
      }
    }
  }
  console.log(JSON.stringify(points));
}

runMain('redis-swarm', main);
