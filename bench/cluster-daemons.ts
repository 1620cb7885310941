// Scale, measured: 3 real daemons on this machine in one cluster (--redis, against a redis-server this script
// starts on a free loopback port so INFO counts this run alone; or -m on a multicast group over 127.0.0.1),
// sharing --viewers SSE viewers (one SwarmFleet per node, from source addresses 127.0.0.2 and up). Measures:
//
//   convergence  one more viewer joins (then leaves) on one node: the time until every node's stats port
//                shows the new total (stats ports polled every 20 ms), --probes times each way
//   per round    what each node sent (GET /api/nodes `sent`: commands or datagrams, bytes), Redis's commands,
//                bytes in and out and CPU (INFO deltas), each node's CPU (primary and worker), over --window s
//
//   npm run build && node dist/bench/cluster-daemons.js [--transport redis,multicast] [--viewers 30000] \
//        [--namespaces 100] [--probes 5] [--window 20] [--interval 2]
import { randomInt } from 'node:crypto';
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import type { ClusterReport } from '../src/primary/cluster/cluster.js';
import { readStats, sleep } from './daemon-io.js';
import { processTree } from './proc-mem.js';
import { redisInfo, startRedis, type RedisServer } from './redis-server.js';
import { CpuMeter, log, median, procJiffies, round, runMain } from './run-kit.js';
import { SwarmFleet } from './swarm-fleet.js';
import { HOST, startAudienceMeter, type Target } from './targets.js';

const NODES = 3;
const CLK_TCK = 100;

interface DaemonsResult {
  transport: 'redis' | 'multicast';
  viewers: number;
  namespaces: number;
  joinMs: number[];
  leaveMs: number[];
  perNodeRound: { sentCommands: number; sentBytes: number; cpuMs: number };
  redisRound?: { commands: number; inBytes: number; outBytes: number; cpuMs: number };
  machine: { oursCores: number; othersCores: number; saturated: boolean };
  exact: boolean;
}

async function nodesReport(node: Target): Promise<ClusterReport> {
  const response = await fetch(`http://${HOST}:${node.notificationPort!}/api/nodes`);
  return response.json() as Promise<ClusterReport>;
}

const total = (stats: Record<string, { members?: number }>): number => Object.values(stats).reduce((sum, s) => sum + (s.members ?? 0), 0);

/** Polls every stats port until each shows `expected` viewers in all; returns the ms from `t0`. */
async function untilEverywhere(nodes: Target[], expected: number, t0: number, timeoutMs = 15_000): Promise<number> {
  const pending = new Set(nodes);
  let last = NaN;
  while (pending.size > 0) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`the total never reached ${expected} on every stats port`);
    await Promise.all([...pending].map(async (node) => {
      if (total(await readStats(HOST, node.statsPort!)) === expected) {
        pending.delete(node);
        last = performance.now() - t0;
      }
    }));
    if (pending.size > 0) await sleep(20);
  }
  return last;
}

/** One SSE viewer on `node`, from a source address of its own; resolves once its first event came. */
function oneViewer(node: Target, ns: string, localAddress: string): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: HOST, port: node.port, path: `/${ns}`, localAddress, agent: false, headers: { Accept: 'text/event-stream' } }, (res) => {
      res.once('data', () => resolve(() => req.destroy()));
    });
    req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
    req.end();
  });
}

function treeJiffies(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + procJiffies(p), 0);
}

async function run(transport: 'redis' | 'multicast', o: { viewers: number; namespaces: number; probes: number; windowS: number; intervalS: number }): Promise<DaemonsResult> {
  const redis: RedisServer | undefined = transport === 'redis' ? await startRedis() : undefined;
  const group = `239.255.${randomInt(1, 255)}.${randomInt(1, 255)}:${randomInt(20_000, 60_000)}`;
  const clusterArgs = transport === 'redis'
    ? ['--redis', redis!.url, '--redis-prefix', `bench-${process.pid}:`]
    : ['-m', group, '--cluster-interface', '127.0.0.1'];
  const nodes: Target[] = [];
  const fleets: SwarmFleet[] = [];
  try {
    for (let k = 0; k < NODES; k++) {
      nodes.push(await startAudienceMeter({ workers: 1, extra: [...clusterArgs, '--cluster-notify-interval', String(o.intervalS), '--attendance', 'off'] }));
    }
    const namespaces = Array.from({ length: o.namespaces }, (_, k) => `room-${k}`);
    let sourceBase = 2;
    for (let k = 0; k < NODES; k++) {
      const viewers = Math.floor(o.viewers / NODES) + (k < o.viewers % NODES ? 1 : 0);
      const fleet = new SwarmFleet({ host: HOST, port: nodes[k]!.port, namespaces, viewers, perSwarm: 5000, rate: 2000, sourceBase, maxSeconds: 600 });
      sourceBase += SwarmFleet.addressesFor({ viewers, perSwarm: 5000 }) + 1;
      fleet.start();
      fleets.push(fleet);
    }
    for (const fleet of fleets) {
      const ready = await fleet.waitReady(120_000);
      if (!ready.ok) throw new Error(`a fleet did not connect: ${JSON.stringify(ready.totals)}`);
    }
    const settledAt = performance.now();
    await untilEverywhere(nodes, o.viewers, settledAt, 30_000);
    const exact = (await Promise.all(nodes.map((n) => readStats(HOST, n.statsPort!)))).every((s) => total(s) === o.viewers);
    log(`${transport}: ${o.viewers} viewers on ${NODES} nodes, counted on every stats port`);
    await sleep(2 * o.intervalS * 1000);

    // Per round: a quiet window (viewers connected, no churn).
    const meter = new CpuMeter(() => [...nodes.map((n) => n.pid), ...fleets.flatMap((f) => f.pids()), ...(redis ? [redis.pid] : [])]);
    const before = await Promise.all(nodes.map(nodesReport));
    const cpu0 = nodes.map((n) => treeJiffies(n.pid));
    const info0 = redis ? await redisInfo(redis.client) : undefined;
    await sleep(o.windowS * 1000);
    const after = await Promise.all(nodes.map(nodesReport));
    const cpu1 = nodes.map((n) => treeJiffies(n.pid));
    const info1 = redis ? await redisInfo(redis.client) : undefined;
    const rounds = nodes.map((_, i) => after[i]!.self!.sent.rounds - before[i]!.self!.sent.rounds);
    const perNode = (pick: (r: ClusterReport) => number): number => median(nodes.map((_, i) => (pick(after[i]!) - pick(before[i]!)) / rounds[i]!));
    const clusterRounds = rounds.reduce((a, b) => a + b, 0) / NODES;

    // Convergence: a join on one node (round robin), then its leave, each until every stats port shows it.
    const joinMs: number[] = [];
    const leaveMs: number[] = [];
    for (let p = 0; p < o.probes; p++) {
      const node = nodes[p % NODES]!;
      let t0 = performance.now();
      const close = await oneViewer(node, namespaces[0]!, `127.0.0.${sourceBase}`);
      joinMs.push(await untilEverywhere(nodes, o.viewers + 1, t0));
      await sleep(randomInt(200, 1200)); // not in step with the rounds
      t0 = performance.now();
      close();
      leaveMs.push(await untilEverywhere(nodes, o.viewers, t0));
      await sleep(randomInt(200, 1200));
    }
    const cpu = meter.end();
    const result: DaemonsResult = {
      transport,
      viewers: o.viewers,
      namespaces: o.namespaces,
      joinMs: joinMs.map((x) => round(x)),
      leaveMs: leaveMs.map((x) => round(x)),
      perNodeRound: {
        sentCommands: round(perNode((r) => r.self!.sent.commands ?? r.self!.sent.datagrams ?? 0), 2),
        sentBytes: round(perNode((r) => r.self!.sent.bytes)),
        cpuMs: round(median(nodes.map((_, i) => ((cpu1[i]! - cpu0[i]!) / CLK_TCK) * 1000 / rounds[i]!)), 1),
      },
      ...(info0 && info1 ? {
        redisRound: {
          commands: round((info1.commands - info0.commands - 1) / clusterRounds, 1),
          inBytes: round((info1.inBytes - info0.inBytes) / clusterRounds),
          outBytes: round((info1.outBytes - info0.outBytes) / clusterRounds),
          cpuMs: round((info1.cpuMs - info0.cpuMs) / clusterRounds, 1),
        },
      } : {}),
      machine: { oursCores: cpu.oursCores, othersCores: cpu.othersCores, saturated: cpu.oursCores + cpu.othersCores > 0.9 * cpu.cores },
      exact,
    };
    log(JSON.stringify(result));
    return result;
  } finally {
    await Promise.all(fleets.map((f) => f.stop().catch(() => f.kill())));
    await Promise.all(nodes.map((n) => n.stop()));
    redis?.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      transport: { type: 'string', default: 'redis,multicast' },
      viewers: { type: 'string', default: '30000' },
      namespaces: { type: 'string', default: '100' },
      probes: { type: 'string', default: '5' },
      window: { type: 'string', default: '20' },
      interval: { type: 'string', default: '2' },
    },
    strict: true,
  });
  const results: DaemonsResult[] = [];
  for (const transport of values.transport!.split(',') as Array<'redis' | 'multicast'>) {
    results.push(await run(transport, { viewers: Number(values.viewers), namespaces: Number(values.namespaces), probes: Number(values.probes),
      windowS: Number(values.window), intervalS: Number(values.interval) }));
  }
  console.log(JSON.stringify(results));
}

runMain('cluster-daemons', main);
