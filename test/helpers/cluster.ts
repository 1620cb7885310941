// Several real daemons in one cluster on 127.0.0.1, over either transport: a multicast group of their own,
// or a Redis prefix of their own (helpers/redis.ts). The suites that cover what crosses nodes run once per
// transport (TRANSPORTS), as the attendance tests run once per store. And a way to put datagrams on a group.
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { ClusterReport } from '../../src/primary/cluster/cluster.js';
import { after, before } from 'node:test';
import { startDaemon, waitFor, type Daemon, type StartOptions } from './daemon.js';
import { REDIS_URL, redisScope, redisSkip, type RedisScope } from './redis.js';
import { openViewer, type SseClient } from './sse-client.js';
import { TcpProxy } from './tcp-proxy.js';

/** Where the nodes of one test's cluster meet: the options that put a node in it. */
export interface ClusterScope {
  transport: 'multicast' | 'redis';
  args: string[];
  /** Deletes what the cluster left behind (its Redis keys); call it once its nodes are stopped. */
  cleanup?(): Promise<void>;
}

export interface Group extends ClusterScope {
  transport: 'multicast';
  host: string;
  port: number;
  /** `-m` value */
  addr: string;
}

/** A group of its own per test run, so parallel runs on one host never hear each other. */
export function randomGroup(): Group {
  const host = `239.255.${randomInt(1, 255)}.${randomInt(1, 255)}`;
  const port = randomInt(20_000, 60_000);
  const addr = `${host}:${port}`;
  return { transport: 'multicast', host, port, addr, args: ['-m', addr, '--cluster-interface', '127.0.0.1'] };
}

export interface TransportKind {
  name: 'multicast' | 'redis';
  /** Why this transport's tests are skipped here, or false. */
  skip: string | false;
  /** A cluster of its own. */
  scope(): ClusterScope;
}

export const TRANSPORTS: TransportKind[] = [
  { name: 'multicast', skip: false, scope: randomGroup },
  { name: 'redis', skip: redisSkip, scope: (): RedisScope => redisScope() },
];

/** Short intervals so tests are quick; later arguments win, so a test can lengthen them. */
export function clusterArgs(scope: ClusterScope, ...more: string[]): string[] {
  return [
    ...scope.args, '--cluster-notify-interval', '0.2', '--cluster-node-timeout', '1',
    '--notify-min-delay', '0.1', '--notify-delta-ratio', '0', ...more,
  ];
}

export function startNode(scope: ClusterScope, more: string[] = [], options: StartOptions = {}): Promise<Daemon> {
  return startDaemon(clusterArgs(scope, ...more), { workers: 1, ...options });
}

/** `token`: the daemon's --admin-token, when it has one. */
export async function peersOf(daemon: Daemon, token?: string): Promise<ClusterReport> {
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  const response = await fetch(`http://127.0.0.1:${daemon.notificationPort}/api/peers`, { headers });
  if (response.status !== 200) throw new Error(`GET /api/peers answered ${response.status}`);
  return response.json() as Promise<ClusterReport>;
}

/** Waits until each daemon lists every other one as a peer; `tokens[i]` is the --admin-token of `daemons[i]`. */
export async function waitForMesh(daemons: Daemon[], timeoutMs = 10_000, tokens: (string | undefined)[] = []): Promise<void> {
  const ids = await Promise.all(daemons.map(async (d, i) => (await peersOf(d, tokens[i])).self!.id));
  await waitFor(async () => {
    const reports = await Promise.all(daemons.map((d, i) => peersOf(d, tokens[i])));
    return reports.every((report, i) => ids.every((id, j) => i === j || report.peers.some((peer) => peer.id === id)));
  }, timeoutMs, `${daemons.length} nodes to know each other`);
}

export function droppedTotal(report: ClusterReport, reason: string): number {
  return report.dropped[reason] ?? 0;
}

/** Sends raw datagrams to the group from 127.0.0.1, as a node (or an intruder) on the segment would. */
export async function sendToGroup(group: Group, datagrams: Buffer[]): Promise<void> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  socket.setMulticastInterface('127.0.0.1');
  socket.setMulticastLoopback(true);
  for (const datagram of datagrams) {
    await new Promise<void>((resolve, reject) => socket.send(datagram, group.port, group.host, (error) => (error ? reject(error) : resolve())));
  }
  socket.close();
}

export interface TwoNodes {
  readonly group: ClusterScope;
  a: Daemon;
  b: Daemon;
  /** Opens a viewer on `daemon` that is closed after the block's tests. */
  watch(daemon: Daemon, path: string): Promise<SseClient>;
}

/** Two nodes of one fresh cluster for the enclosing describe block: meshed before its tests, stopped after. */
export function twoNodes(more: string[] = [], scope: () => ClusterScope = randomGroup): TwoNodes {
  const group = scope();
  return nodePair(group, group, more);
}

export interface ProxiedPair extends TwoNodes {
  /** Between A and Redis: stop it for an outage, `swallowReplies()` to lose Redis's answers. */
  readonly proxy: TcpProxy;
}

/**
 * Two Redis nodes of one fresh prefix for the enclosing describe block, A reaching Redis only through a TCP
 * proxy of the test's own (the shared server is never stopped), B directly.
 */
export function proxiedRedisPair(more: string[] = []): ProxiedPair {
  const target = new URL(REDIS_URL);
  const proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
  const direct = redisScope();
  const throughProxy = (): RedisScope => redisScope({ prefix: direct.prefix, url: `redis://127.0.0.1:${proxy.port}` });
  before(() => proxy.start());
  const pair = nodePair(direct, throughProxy, more, direct);
  after(() => proxy.stop());
  return Object.assign(pair, { proxy });
}

/**
 * The describe block's pair: A in `scopeOfA` (a function when it can only be known once `before` runs, as a
 * proxy's port), B in `scopeOfB`; `group` is the cluster they make, cleaned up after their stop.
 */
function nodePair(group: ClusterScope, scopeOfA: ClusterScope | (() => ClusterScope), more: string[], scopeOfB: ClusterScope = group): TwoNodes {
  const viewers: SseClient[] = [];
  const nodes: TwoNodes = {
    group,
    a: undefined as unknown as Daemon,
    b: undefined as unknown as Daemon,
    async watch(daemon, path) {
      const viewer = await openViewer(daemon.port, path);
      viewers.push(viewer);
      return viewer;
    },
  };
  before(async () => {
    const a = typeof scopeOfA === 'function' ? scopeOfA() : scopeOfA;
    [nodes.a, nodes.b] = await Promise.all([startNode(a, more), startNode(scopeOfB, more)]);
    await waitForMesh([nodes.a, nodes.b]);
  });
  after(async () => {
    for (const viewer of viewers) viewer.close();
    await Promise.all([nodes.a, nodes.b].map((d) => d?.stop()));
    await group.cleanup?.();
  });
  return nodes;
}
