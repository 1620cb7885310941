// The cluster over Redis (`--redis <url>`), for any cloud. Redis holds a copy of each node's own state, never
// the only copy: every node keeps counting locally and asserts its absolute values (redis-scripts.ts). Each
// round (--cluster-notify-interval ± jitter) a node sends only what changed since its last round, in one
// script that also renews its presence and publishes the changes; its identified sessions' changes go at
// once, in a second script that decides the device limit for the whole cluster (redis-devices.ts, while
// joined: Cluster.decidesDeviceLimit). Every node applies what the others publish (redis-nodes.ts), and
// reloads a node's whole state from Redis when it missed a message. A node silent past --cluster-node-timeout is dropped by whichever node
// notices first; a goodbye drops it at once. Redis lost, restarted or flushed: the node keeps counting its own
// viewers, says so once, retries with backoff, and when Redis is back re-asserts its state and reloads the
// others'. Admin requests travel through Redis too (redis-admin.ts). Design and costs: docs/cluster.md.
import { debugFor, logError, logInfo } from '../../log.js';
import type { NodeIdentity } from '../../protocol/datagram.js';
import type { Exclusion } from '../../protocol/ipc.js';
import { sessionIdBytes } from '../../protocol/wire-sessions.js';
import type { Route } from '../admin/server.js';
import { type Cluster, type ClusterReport, type ClusterSession, type ClusterSink, type LocalState, type NodeAdmin, type NodeCount } from './cluster.js';
import { DropCounter } from './drop-counter.js';
import { fromPeer, toWire } from './exclusion-order.js';
import { RecentIds } from './recent-ids.js';
import { RedisAdmin } from './redis-admin.js';
import { redisNames, type RedisNames } from './redis-keys.js';
import { redactedUrl, redisClient, type RedisLink } from './redis-link.js';
import { encodeBroadcast, encodeInbox, encodeState, isNodeId, parseBroadcast, parseInbox, parseState, VERSION, type BroadcastMessage } from './redis-messages.js';
import { RedisNodes } from './redis-nodes.js';
import { defineScripts, type ClusterScripts } from './redis-scripts.js';
import { defineSessionsScript } from './redis-devices.js';
import { EXPELLED_MS, RedisSessions, type Eviction } from './redis-sessions.js';
import { readNodeState } from './redis-state.js';
import { userKeys, type UserKeys } from './user-keys.js';

const debug = debugFor('cluster');

const ROUND_JITTER = 0.1;
const LIMITS = { maxNodes: 4096, maxNamespacesPerNode: 100_000, maxSessionsPerNode: 100_000 };

export interface RedisSettings {
  url: string;
  /** The URL names a node of a Redis Cluster. */
  cluster: boolean;
  prefix: string;
  notifyIntervalMs: number;
  nodeTimeoutMs: number;
  /** Keys the user keys (as with multicast), so user ids never reach Redis in clear. */
  secret: string | undefined;
  identity: NodeIdentity;
  /** --max-devices: the limit this node's session changes are decided by, in Redis (0: none). */
  maxDevices: number;
}

export class RedisCluster implements Cluster {
  readonly self: string;
  readonly userKey: UserKeys;
  private readonly names: RedisNames;
  private readonly drops = new DropCounter();
  private readonly others: RedisNodes;
  readonly requests: RedisAdmin;
  private readonly commands: RedisLink;
  private readonly subscriber: RedisLink;
  private readonly scripts: ClusterScripts;
  private readonly expelledNews = new RecentIds(2 * EXPELLED_MS, 50_000);
  private readonly sent = { rounds: 0, commands: 0, bytes: 0 };
  /** ns → "members connections" as Redis holds it for this node (after the last successful assert). */
  private asserted = new Map<string, string>();
  /** This node's sessions, and the device limit's decisions on them. */
  private readonly sessions: RedisSessions;
  private needsFull = true;
  private seq = 0;
  /** This node's state is asserted on the current connection. */
  private joined = false;
  private subscribed = false;
  private failingSince: number | undefined;
  private lastError: string | null = null;
  private flushing: Promise<void> | undefined;
  private flushAgain = false;
  private roundTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly settings: RedisSettings, private readonly local: LocalState, private readonly sink: ClusterSink) {
    this.self = settings.identity.id;
    this.userKey = userKeys(settings.secret);
    this.names = redisNames(settings.prefix);
    this.others = new RedisNodes(settings.identity, LIMITS, sink, this.drops);
    this.commands = redisClient(settings.url, `audience-meter:${this.self}`, settings.cluster);
    this.subscriber = redisClient(settings.url, `audience-meter:${this.self}:sub`, settings.cluster);
    this.scripts = defineScripts(this.commands);
    this.sessions = new RedisSessions(settings.identity, this.names, settings.maxDevices, defineSessionsScript(this.commands));
    this.requests = new RedisAdmin({
      send: (node, message) => this.publish(this.names.inbox(node), encodeInbox(this.self, message)),
    });
  }

  async start(): Promise<void> {
    for (const client of [this.commands, this.subscriber]) {
      client.on('error', (error: Error) => this.linkDown(error.message));
      // A closed connection says less than the error that closed it (a refused password, a refused connection).
      client.on('close', () => this.linkDown(this.lastError ?? 'connection closed'));
    }
    this.commands.on('ready', () => void this.linkUp());
    this.subscriber.on('ready', () => void this.subscribe());
    this.subscriber.on('message', (channel: string, raw: string) => this.onMessage(channel, raw));
    // Unreachable at start is an outage like any other: the node serves, and joins when Redis answers.
    for (const client of [this.commands, this.subscriber]) client.connect().catch(() => {});
    this.scheduleRound();
    debug('node %s (incarnation %d) uses %s with prefix %s', this.self, this.settings.identity.incarnation, redactedUrl(this.settings.url), this.settings.prefix);
  }

  isJoined(): boolean {
    return this.joined && this.linkReady() && !this.stopped;
  }

  publishNotification(ns: string, data: string): string | undefined {
    this.broadcast({ t: 'notify', node: this.self, ns, data });
    return undefined;
  }

  publishExclusions(exclusions: readonly Exclusion[]): void {
    if (exclusions.length > 0) this.broadcast({ t: 'exclude', node: this.self, exclusions: exclusions.map(toWire) });
  }

  publishSessions(changes: readonly ClusterSession[]): void {
    // A whole assertion is due (joining, an outage, a flush): it reads every session afresh, so no queue.
    if (!this.needsFull) this.sessions.queue(changes);
    void this.flush();
  }

  /** While joined, Redis decides (redis-devices.ts); while away, every node applies the rule to what it knows. */
  decidesDeviceLimit(): boolean {
    return this.isJoined();
  }

  publishExpelled(sessions: readonly string[]): void {
    if (sessions.length === 0 || !this.linkReady()) return;
    const now = Date.now();
    const message = encodeBroadcast({ t: 'expelled', node: this.self, sessions: [...sessions] });
    const scored = sessions.flatMap((session) => [now, session]);
    this.count(3, message.length);
    this.commands.multi().zadd(this.names.expelled, ...scored).zremrangebyscore(this.names.expelled, '-inf', now - EXPELLED_MS)
      .publish(this.names.all, message).exec().catch((error: Error) => this.linkDown(error.message));
  }

  describe(): ClusterReport {
    const { id, incarnation } = this.settings.identity;
    return {
      transport: 'redis',
      self: {
        id,
        incarnation,
        redis: {
          url: redactedUrl(this.settings.url),
          prefix: this.settings.prefix,
          connected: this.linkReady(),
          joined: this.isJoined(),
          failingSince: this.failingSince === undefined ? null : new Date(this.failingSince).toISOString(),
          lastError: this.lastError,
        },
        sent: { ...this.sent },
      },
      peers: this.others.describe(),
      dropped: this.drops.snapshot(),
    };
  }

  serve(admin: NodeAdmin): Route[] {
    this.requests.serve(admin);
    return [];
  }

  nodes(): string[] {
    return this.others.ids();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.roundTimer);
    this.requests.close();
    if (this.linkReady()) {
      try {
        await this.scripts.dropNode(this.dropKeys(this.self), [this.self, 'goodbye', this.settings.identity.incarnation, this.names.all, VERSION]);
        debug('said goodbye');
      } catch (error) {
        debug('could not say goodbye: %s', (error as Error).message);
      }
    }
    this.subscriber.disconnect();
    this.commands.disconnect();
  }

  private linkReady(): boolean {
    return this.commands.status === 'ready' && this.subscriber.status === 'ready' && this.subscribed;
  }

  private linkDown(reason: string): void {
    this.joined = false;
    this.needsFull = true;
    if (this.stopped) return;
    if (this.subscriber.status !== 'ready') this.subscribed = false;
    this.lastError = reason;
    if (this.failingSince !== undefined) return;
    this.failingSince = Date.now();
    // Once per outage, not per retry: the backoff keeps retrying quietly.
    logError(`cluster: Redis at ${redactedUrl(this.settings.url)} is unreachable (${reason}): this node keeps counting its own viewers, and rejoins when Redis is back`);
  }

  private async subscribe(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.names.state, this.names.all, this.names.inbox(this.self));
      this.subscribed = true;
      await this.linkUp();
    } catch (error) {
      this.linkDown((error as Error).message);
    }
  }

  /** Both connections are ready: this node's state goes in whole, and the others' is read afresh (messages may have been missed). */
  private async linkUp(): Promise<void> {
    if (!this.linkReady() || this.stopped) return;
    this.needsFull = true;
    await this.flush();
    if (!this.joined) return;
    await this.reloadAll();
    if (this.failingSince !== undefined) {
      logInfo(`cluster: Redis at ${redactedUrl(this.settings.url)} is back after ${((Date.now() - this.failingSince) / 1000).toFixed(1)} s: this node rejoined`);
      this.failingSince = undefined;
      this.lastError = null;
    }
  }

  private scheduleRound(): void {
    if (this.stopped) return;
    const jitter = 1 + ROUND_JITTER * (2 * Math.random() - 1);
    this.roundTimer = setTimeout(() => void this.round(), this.settings.notifyIntervalMs * jitter);
  }

  private async round(): Promise<void> {
    this.sent.rounds++;
    if (this.linkReady()) {
      await this.flush();
    } else if (this.failingSince !== undefined && Date.now() - this.failingSince > this.settings.nodeTimeoutMs && this.others.ids().length > 0) {
      // This node hears nobody: the others count as silent, as a silent node does for them.
      this.others.forgetAll('Redis unreachable');
    }
    this.scheduleRound();
  }

  /** Asserts what changed (or everything), one script at a time; a call while one runs makes it run again. */
  private flush(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      do {
        this.flushAgain = false;
        await this.assertOnce();
      } while (this.flushAgain && !this.stopped);
    })().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async assertOnce(): Promise<void> {
    if (!this.linkReady()) return;
    const full = this.needsFull;
    const current = new Map<string, string>();
    for (const [ns, members, connections] of this.local.counts()) {
      if (members > 0 || connections > 0) current.set(ns, `${members} ${connections}`);
    }
    const counts: NodeCount[] = [];
    const countFields: string[] = [];
    const deleted: string[] = [];
    for (const [ns, value] of current) {
      if (!full && this.asserted.get(ns) === value) continue;
      countFields.push(ns, value);
      const [members, connections] = value.split(' ').map(Number) as [number, number];
      counts.push([ns, members, connections]);
    }
    if (!full) {
      for (const ns of this.asserted.keys()) {
        if (current.has(ns)) continue;
        deleted.push(ns);
        counts.push([ns, 0, 0]);
      }
    }
    const seq = this.seq + 1;
    const changed = full || counts.length > 0;
    const message = changed ? encodeState({ node: this.self, incarnation: this.settings.identity.incarnation, seq, full, counts, opened: [], ended: [] }) : '';
    const args = [this.self, this.settings.identity.incarnation, full ? 1 : 0, this.settings.nodeTimeoutMs, this.names.state, message, seq,
      countFields.length / 2, ...countFields, deleted.length, ...deleted];
    let result: (number | string)[];
    try {
      this.count(1, message.length + countFields.reduce((sum, field) => sum + field.length, 0));
      result = await this.scripts.assertState([this.names.nodes, this.names.counts(this.self)], args);
    } catch (error) {
      // Whatever was not asserted goes in whole when Redis answers again.
      this.linkDown((error as Error).message);
      return;
    }
    if (result[0] === -1) {
      debug('Redis no longer holds this node\'s state (flushed, restarted, or dropped as silent): asserting it whole');
      this.needsFull = true;
      this.flushAgain = true;
      return;
    }
    if (changed) this.seq = seq;
    this.asserted = current;
    this.needsFull = false;
    for (const node of result.slice(1)) {
      if (typeof node === 'string' && node !== this.self) void this.dropSilent(node);
    }
    // Joined once Redis holds its sessions too: from then on Redis decides the device limit.
    if (await this.assertSessions(full)) this.joined = true;
  }

  /** This node's sessions, after its counts (whole after whole counts), and the device limit's decisions on them; false when not asserted. */
  private async assertSessions(whole: boolean): Promise<boolean> {
    try {
      const held = await this.sessions.assert(whole, () => this.local.sessions(), {
        // Taken before the call: a call lost on the way leaves a gap (the others reload), never a repeated number.
        nextSeq: () => ++this.seq,
        evicted: (evictions) => this.evicted(evictions),
        sent: (commands, bytes) => this.count(commands, bytes),
      });
      if (held) return true;
      debug('Redis no longer holds this node\'s state (flushed, restarted, or dropped as silent): asserting it whole');
      this.needsFull = true;
      this.flushAgain = true;
    } catch (error) {
      this.linkDown((error as Error).message);
    }
    return false;
  }

  /** A node whose presence is older than the timeout: dropped in Redis (once, whoever asks first), and told to every node. */
  private async dropSilent(node: string): Promise<void> {
    if (!isNodeId(node)) {
      this.drops.drop('bad node id under the prefix', 'redis', node);
      this.count(1, 0);
      await this.commands.zrem(this.names.nodes, node).catch(() => {});
      return;
    }
    try {
      this.count(1, 0);
      const dropped = await this.scripts.dropNode(this.dropKeys(node), [node, this.settings.nodeTimeoutMs, '', this.names.all, VERSION]);
      if (dropped === 1) debug('dropped node %s: silent past the node timeout', node);
    } catch (error) {
      debug('could not drop node %s: %s', node, (error as Error).message);
    }
  }

  /** Every node's state as Redis holds it now, and the recent expulsions. */
  private async reloadAll(): Promise<void> {
    try {
      this.count(2, 0);
      const started = Date.now();
      const [ids, expelled] = await Promise.all([
        this.commands.zrange(this.names.nodes, 0, -1),
        this.commands.zrangebyscore(this.names.expelled, Date.now() - EXPELLED_MS, '+inf'),
      ]);
      const live = new Set(ids.filter((id) => id !== this.self));
      // A node missing from the list is gone, unless its state message came in while the list was read: it
      // joined after the list was taken (forgetting it then would lose it until its next change).
      for (const id of this.others.ids()) if (!live.has(id) && !this.others.heardSince(id, started)) this.others.gone(id, null);
      await Promise.all([...live].map((id) => this.reloadNode(id)));
      this.expelled(expelled.filter((id) => sessionIdBytes(id) !== undefined));
    } catch (error) {
      debug('could not read the other nodes\' state: %s', (error as Error).message);
    }
  }

  /** One node's whole state, read in one transaction so its counts and sessions match. */
  private async reloadNode(node: string): Promise<void> {
    if (!isNodeId(node)) return this.dropSilent(node);
    this.others.startReload(node, Date.now());
    try {
      this.count(2, 0);
      const state = await readNodeState(this.commands, this.names, node, this.drops);
      if (!state) {
        // Listed but without state (dropped meanwhile, or data of another program).
        this.others.reloadFailed(node);
        return this.others.gone(node, null);
      }
      this.others.replace(node, state, Date.now());
    } catch (error) {
      this.others.reloadFailed(node);
      debug('could not read node %s: %s', node, (error as Error).message);
    }
  }

  private onMessage(channel: string, raw: string): void {
    if (channel === this.names.state) {
      const parsed = parseState(raw);
      if (!parsed.ok) return this.drops.drop(parsed.reason, 'redis', `on ${channel}`);
      const reload = this.others.receive(parsed.value, Date.now());
      if (reload !== undefined) void this.reloadNode(reload);
    } else if (channel === this.names.all) {
      const parsed = parseBroadcast(raw);
      if (!parsed.ok) return this.drops.drop(parsed.reason, 'redis', `on ${channel}`);
      this.onBroadcast(parsed.value);
    } else if (channel === this.names.inbox(this.self)) {
      const parsed = parseInbox(raw);
      if (!parsed.ok) return this.drops.drop(parsed.reason, 'redis', `on ${channel}`);
      this.requests.onInbox(parsed.value);
    }
  }

  private onBroadcast(m: BroadcastMessage): void {
    if (m.node === this.self) {
      // Dropped as silent while alive (an outage on this side): the next round asserts everything again.
      if (m.t === 'gone' && m.incarnation === this.settings.identity.incarnation) this.needsFull = true;
      return;
    }
    switch (m.t) {
      case 'gone':
        this.requests.nodeGone(m.node);
        return this.others.gone(m.node, m.incarnation);
      case 'notify':
        return this.sink.notification(m.ns, m.data);
      case 'exclude':
        return this.sink.exclusions(m.exclusions.map((exclusion) => fromPeer(exclusion, m.node, this.self)));
      case 'expelled':
        return this.expelled(m.sessions);
      case 'evict':
        return this.evicted(m.evicted);
    }
  }

  /** The device limit's decisions, by this node's script or another's: the holder expels, every other node notes. */
  private evicted(evictions: readonly Eviction[]): void {
    const own: string[] = [];
    const others: string[] = [];
    for (const [holder, session] of evictions) (holder === this.self ? own : others).push(session);
    if (own.length > 0) this.sink.expel(own);
    this.expelled(others);
  }

  /** Expulsions, each passed on once however often it is heard (a broadcast, then a reload). */
  private expelled(sessions: readonly string[]): void {
    const now = Date.now();
    const news = sessions.filter((session) => this.expelledNews.add(session, now));
    if (news.length > 0) this.sink.expelled(news);
  }

  private broadcast(message: BroadcastMessage): void {
    if (!this.linkReady()) return;
    void this.publish(this.names.all, encodeBroadcast(message)).catch((error: Error) => this.linkDown(error.message));
  }

  private publish(channel: string, message: string): Promise<number> {
    this.count(1, message.length);
    return this.commands.publish(channel, message);
  }

  private dropKeys(node: string): [string, string, string, string] {
    return [this.names.nodes, this.names.counts(node), this.names.sessions(node), this.names.devices];
  }

  private count(commands: number, bytes: number): void {
    this.sent.commands += commands;
    this.sent.bytes += bytes;
  }
}
