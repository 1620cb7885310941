// One process of simulated cluster nodes for bench/redis-swarm.ts: each node is the daemon's own transport
// class (RedisCluster or MulticastCluster from dist/src/primary/cluster/) with a fake LocalState (a map of
// counts this process churns) and a fake ClusterSink, so the bytes on the wire, the scripts Redis runs and the
// parsing are the daemon's. Two roles:
//
//   full  every node keeps the whole cluster's table, as a daemon does; the sink reports when a probe
//         namespace's new value arrives (convergence). Few of them: each one holds every node's counts.
//   lean  Redis only: the node sends, renews, subscribes and parses every state message like a daemon, but its
//         table of the other nodes is a no-op (and it reads nobody's state at join), so 200 of them fit in
//         memory. Their CPU is the sending side plus parsing; the full nodes' CPU is the whole path.
//
// Driven over IPC by the parent: 'setup' → 'ready', 'probe' → 'probed', 'stats' → 'stats', 'stop'.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { ClusterSession, ClusterSink, LocalState, NodeCount } from '../src/primary/cluster/cluster.js';
import { MulticastCluster } from '../src/primary/cluster/multicast.js';
import { RedisCluster } from '../src/primary/cluster/redis-cluster.js';

export const PROBE_NS = 'probe';

export interface NodesSetup {
  transport: 'redis' | 'multicast';
  role: 'full' | 'lean';
  /** Nodes in this process, and the cluster's size (for each node's share of viewers and changes). */
  count: number;
  clusterNodes: number;
  namespaces: number;
  viewers: number;
  /** Join/leave events per round over the whole cluster. */
  eventsPerRound: number;
  intervalMs: number;
  redisUrl: string;
  prefix: string;
  group: { host: string; port: number };
  /** How long the nodes may take to join (every node's own state asserted) before the point goes on without them. */
  joinTimeoutMs: number;
  /** Where to write a CPU profile of this process over the measured window (first stats to second), if anywhere. */
  cpuProfileFile?: string;
}

export type ToNodes = { t: 'setup'; setup: NodesSetup } | { t: 'probe'; value: number } | { t: 'stats' } | { t: 'stop' };
export type FromNodes =
  | { t: 'ready'; namespaces: number; joined: number; joinMs: number }
  | { t: 'probed'; value: number; at: number; node: string; full: boolean }
  | { t: 'seen'; value: number; at: number; node: string }
  | { t: 'stats'; cpuUs: number; sentBytes: number; sentCommands: number; receivedBytes: number; envelopes: number; stateMessages: number; subscriberReads: number; rounds: number; dropped: number };

/** Zipf (s = 1) popularity of namespaces 1…K: the cumulative distribution, for sampling by bisection. */
export function zipfCdf(k: number): Float64Array {
  const cdf = new Float64Array(k);
  let sum = 0;
  for (let i = 0; i < k; i++) cdf[i] = sum += 1 / (i + 1);
  for (let i = 0; i < k; i++) cdf[i]! /= sum;
  return cdf;
}

function sample(cdf: Float64Array): number {
  const u = Math.random();
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Poisson(λ) by inversion for small λ, rounded normal for large. */
function poisson(lambda: number): number {
  if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * gaussian()));
  let k = 0;
  let p = Math.exp(-lambda);
  let s = p;
  const u = Math.random();
  while (u > s) { k++; p *= lambda / k; s += p; }
  return k;
}

function gaussian(): number {
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

export const nsName = (k: number): string => `event-${k}`;

/** One simulated node's own viewers: ns → [members, joins]. */
class SimState implements LocalState {
  readonly table = new Map<string, [number, number]>();
  /** As the daemon's audience table: the namespaces changed since the last take, tracked from the first. */
  private changed: Set<string> | undefined;
  *counts(): Iterable<NodeCount> {
    for (const [ns, [m, c]] of this.table) yield [ns, m, c];
  }
  countChanges(): NodeCount[] {
    const taken = this.changed ?? new Set<string>();
    this.changed = new Set();
    return Array.from(taken, (ns): NodeCount => {
      const entry = this.table.get(ns);
      return entry ? [ns, entry[0], entry[1]] : [ns, 0, 0];
    });
  }
  set(ns: string, value: [number, number]): void {
    this.table.set(ns, value);
    this.changed?.add(ns);
  }
  sessions(): Iterable<ClusterSession> {
    return [];
  }
  /** A viewer joins or leaves a namespace of this node (a leave from an empty one is a join). */
  churn(ns: string): void {
    const entry = this.table.get(ns);
    if (!entry) return this.set(ns, [1, 1]);
    this.changed?.add(ns);
    if (entry[0] > 0 && Math.random() < 0.5) {
      entry[0]--;
      if (entry[0] === 0) this.table.delete(ns);
    } else {
      entry[0]++;
      entry[1]++;
    }
  }
}

type Node = RedisCluster | MulticastCluster;

const send = (m: FromNodes): void => void process.send!(m);

function makeSink(self: string, full: boolean): ClusterSink {
  return {
    counts(_node, entries) {
      if (!full) return;
      for (const [ns, members] of entries) if (ns === PROBE_NS) send({ t: 'seen', value: members, at: Date.now(), node: self });
    },
    gone() {},
    notification() {},
    exclusions() {},
    sessions() {},
    expelled() {},
    expel() {},
  };
}

/** The lean role: the table of the other nodes does nothing, and nothing is read at join (see the header). */
function makeLean(node: RedisCluster): void {
  const inner = node as unknown as { others: { receive: () => undefined; replace: () => void }; reloadAll: () => Promise<void> };
  inner.others.receive = () => undefined;
  inner.others.replace = () => {};
  inner.reloadAll = async () => {};
}

type Socketed = { stream?: { bytesRead?: number } } | undefined;
type RedisInsides = { subscriber?: Socketed; commands?: Socketed; reader?: Socketed };

/** Bytes a node received on every connection it has to Redis (pub/sub, commands and, where there is one, the state stream's reader). */
function receivedBytes(node: Node): number {
  const insides = node as unknown as RedisInsides;
  return [insides.subscriber, insides.commands, insides.reader].reduce((sum, client) => sum + (client?.stream?.bytesRead ?? 0), 0);
}

/**
 * What reaches a node: envelopes (each pub/sub message, and each XREAD answer that carries entries: one
 * delivery each) and state messages (on the state channel, or entries of the state stream), per process.
 */
const received = { envelopes: 0, stateMessages: 0, subscriberReads: 0 };

function countReceived(node: Node): void {
  if (!(node instanceof RedisCluster)) return;
  const insides = node as unknown as {
    subscriber: { on(event: 'message', listener: (channel: string) => void): void; on(event: 'connect', listener: () => void): void; stream?: { on(event: 'data', listener: () => void): void } };
    reader?: { xread: (...args: unknown[]) => Promise<unknown> };
  };
  // Reads of the subscriber's socket ('data' events): each one a wake of the process at most.
  insides.subscriber.on('connect', () => insides.subscriber.stream?.on('data', () => void received.subscriberReads++));
  insides.subscriber.on('message', (channel) => {
    received.envelopes++;
    if (channel.endsWith('state')) received.stateMessages++;
  });
  const reader = insides.reader;
  if (!reader) return;
  const xread = reader.xread.bind(reader);
  reader.xread = async (...args) => {
    const reply = (await xread(...args)) as [string, unknown[]][] | null;
    const entries = reply?.[0]?.[1]?.length ?? 0;
    if (entries > 0) {
      received.envelopes++;
      received.stateMessages += entries;
    }
    return reply;
  };
}

let nodes: Node[] = [];
let states: SimState[] = [];
let churnTimer: NodeJS.Timeout | undefined;
let role: NodesSetup['role'] = 'full';
let profileFile: string | undefined;
let profiler: Session | undefined;

/**
 * --cpu-prof: the measured window of this process only (not the join): started at the first stats, written
 * at the second, so the profile shows what a steady round costs.
 */
async function profileWindow(): Promise<void> {
  if (!profileFile) return;
  if (!profiler) {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: 100 });
    await profiler.post('Profiler.start');
    return;
  }
  const { profile } = await profiler.post('Profiler.stop');
  writeFileSync(profileFile, JSON.stringify(profile));
  profiler.disconnect();
  profileFile = undefined;
}

async function setup(s: NodesSetup): Promise<void> {
  const cdf = zipfCdf(s.namespaces);
  role = s.role;
  profileFile = s.cpuProfileFile;
  const full = s.role === 'full';
  for (let i = 0; i < s.count; i++) {
    const state = new SimState();
    // This node's share of every namespace's viewers, spread at random over the cluster (a load balancer).
    let previous = 0;
    for (let k = 0; k < s.namespaces; k++) {
      const members = poisson(((cdf[k]! - previous) * s.viewers) / s.clusterNodes);
      previous = cdf[k]!;
      if (members > 0) state.table.set(nsName(k), [members, members]);
    }
    states.push(state);
    const identity = { id: randomBytes(8).toString('hex'), incarnation: Date.now() };
    const common = { notifyIntervalMs: s.intervalMs, nodeTimeoutMs: 10 * s.intervalMs, secret: undefined, identity };
    const node: Node = s.transport === 'redis'
      ? new RedisCluster({ ...common, url: s.redisUrl, cluster: false, prefix: s.prefix, maxDevices: 0 }, state, makeSink(identity.id, full))
      : new MulticastCluster({ ...common, group: s.group, interfaceAddress: '127.0.0.1', ttl: 1, adminPort: 0, adminToken: undefined }, state, makeSink(identity.id, full));
    if (!full && node instanceof RedisCluster) makeLean(node);
    countReceived(node);
    nodes.push(node);
  }
  const started = Date.now();
  for (const node of nodes) await node.start();
  // Bounded: a join that never settles (a saturated Redis) is reported as such, not waited for forever.
  while (!nodes.every((n) => n.isJoined()) && Date.now() - started < s.joinTimeoutMs) await new Promise((r) => setTimeout(r, 100));
  const joined = nodes.filter((n) => n.isJoined()).length;
  // Churn: this process's share of the cluster's events, spread over each round in ticks of 100 ms.
  const ticks = Math.max(1, Math.round(s.intervalMs / 100));
  const perTick = (s.eventsPerRound * s.count) / s.clusterNodes / ticks;
  let carry = 0;
  churnTimer = setInterval(() => {
    carry += perTick;
    for (; carry >= 1; carry--) states[Math.floor(Math.random() * states.length)]!.churn(nsName(sample(cdf)));
  }, s.intervalMs / ticks);
  send({ t: 'ready', namespaces: states.reduce((sum, st) => sum + st.table.size, 0), joined, joinMs: Date.now() - started });
}

function stats(): FromNodes {
  const cpu = process.cpuUsage();
  let sentBytes = 0;
  let sentCommands = 0;
  let rounds = 0;
  let dropped = 0;
  for (const node of nodes) {
    const report = node.describe();
    sentBytes += report.self!.sent.bytes;
    sentCommands += report.self!.sent.commands ?? report.self!.sent.datagrams ?? 0;
    rounds += report.self!.sent.rounds;
    dropped += Object.values(report.dropped).reduce((a, b) => a + b, 0);
  }
  return { t: 'stats', cpuUs: cpu.user + cpu.system, sentBytes, sentCommands, receivedBytes: nodes.reduce((sum, n) => sum + receivedBytes(n), 0), ...received, rounds, dropped };
}

process.on('message', (m: ToNodes) => {
  switch (m.t) {
    case 'setup':
      setup(m.setup).catch((error: Error) => {
        process.stderr.write(`nodes: ${error.stack}\n`);
        process.exit(2);
      });
      return;
    case 'probe': {
      // The change to see everywhere: one node's probe namespace takes a new value.
      const i = Math.floor(Math.random() * states.length);
      states[i]!.set(PROBE_NS, [m.value, m.value]);
      return send({ t: 'probed', value: m.value, at: Date.now(), node: nodes[i]!.self, full: role === 'full' });
    }
    case 'stats':
      // The profile's start and stop fall outside the window the stats measure.
      return void profileWindow().then(() => send(stats()));
    case 'stop':
      clearInterval(churnTimer);
      void Promise.all(nodes.map((n) => n.stop())).finally(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
