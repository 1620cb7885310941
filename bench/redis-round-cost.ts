// What one Redis round costs a node as its unchanged state grows: one node (the daemon's RedisCluster on the
// daemon's AudienceTable) holding --namespaces namespaces, against a redis-server this script starts on a
// free loopback port, changes --changes of them per round; the script times each round's flush (the node's
// CPU and the wall time to Redis's answer). A round should cost O(the node's changes), not O(its namespaces).
//
//   npm run build && node dist/bench/redis-round-cost.js [--namespaces 1000,10000,50000,100000] [--changes 10] [--rounds 30]
//        [--cluster-module <path to another build's dist/src/primary/cluster/redis-cluster.js>]
//
// --cluster-module runs the same rounds on another build (say, the commit before a change) for a ratio
// within one run on one machine.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { AudienceTable } from '../src/primary/audience-table.js';
import type { Cluster, ClusterSink, LocalState } from '../src/primary/cluster/cluster.js';
import type { RedisSettings } from '../src/primary/cluster/redis-cluster.js';
import { startRedis } from './redis-server.js';
import { log, median, round, runMain } from './run-kit.js';

const JOIN_TIMEOUT_MS = 20_000;

type ClusterClass = new (settings: RedisSettings, local: LocalState, sink: ClusterSink) => Cluster;

const sink: ClusterSink = { counts() {}, gone() {}, notification() {}, exclusions() {}, sessions() {}, expelled() {}, expel() {} };

async function measure(Impl: ClusterClass, url: string, namespaces: number, changes: number, rounds: number): Promise<{ cpuMs: number; wallMs: number; error?: string }> {
  const table = new AudienceTable();
  for (let k = 0; k < namespaces; k++) table.setMembers('worker:1', `ns-${k}`, 1 + (k % 5), 0);
  const identity = { id: randomBytes(8).toString('hex'), incarnation: Date.now() };
  // Rounds far apart: this script runs them itself, one at a time.
  const node = new Impl({ url, cluster: false, prefix: `cost-${identity.id}:`, notifyIntervalMs: 1e9, nodeTimeoutMs: 2e9, secret: undefined, identity, maxDevices: 0 },
    { counts: () => table.localCounts(), countChanges: () => table.takeLocalChanges(), sessions: () => [] }, sink);
  await node.start();
  // Bounded: a build that cannot assert that many namespaces (one call overflowing the stack) never joins.
  const deadline = Date.now() + JOIN_TIMEOUT_MS;
  while (!node.isJoined()) {
    if (Date.now() > deadline) {
      await node.stop();
      return { cpuMs: NaN, wallMs: NaN, error: `not joined within ${JOIN_TIMEOUT_MS / 1000} s: ${node.describe().self?.redis?.lastError ?? 'no error'}` };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const flush = (): Promise<void> => (node as unknown as { flush(): Promise<void> }).flush();
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (let c = 0; c < changes; c++) table.setMembers('worker:1', `ns-${(r * changes + c) % namespaces}`, 10 + r, 0);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await flush();
    wall.push(performance.now() - t0);
    const used = process.cpuUsage(cpu0);
    cpu.push((used.user + used.system) / 1000);
  }
  await node.stop();
  return { cpuMs: round(median(cpu), 2), wallMs: round(median(wall), 2) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      namespaces: { type: 'string', default: '1000,10000,50000,100000' },
      changes: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '30' },
      'cluster-module': { type: 'string' },
    },
    strict: true,
  });
  const builds: [string, ClusterClass][] = [['this build', (await import('../src/primary/cluster/redis-cluster.js')).RedisCluster]];
  const other = values['cluster-module'];
  if (other) builds.unshift([other, (await import(pathToFileURL(resolve(other)).href) as { RedisCluster: ClusterClass }).RedisCluster]);
  const redis = await startRedis();
  const results: unknown[] = [];
  try {
    for (const namespaces of values.namespaces!.split(',').map(Number)) {
      for (const [build, Impl] of builds) {
        const figures = await measure(Impl, redis.url, namespaces, Number(values.changes), Number(values.rounds));
        const row = { build, namespaces, changes: Number(values.changes), ...figures };
        log(JSON.stringify(row));
        results.push(row);
      }
    }
  } finally {
    redis.stop();
  }
  console.log(JSON.stringify(results));
}

runMain('redis-round-cost', main);
