// The cluster over Redis (`--redis <url>`), for any cloud. Redis holds a copy of each node's own state, never
// the only copy: every node keeps counting locally and asserts its absolute values (redis-scripts.ts). Each
// round (--cluster-notify-interval ± jitter) a node sends only what changed since its last round, in one
// script that also renews its presence and publishes the changes; its identified sessions' changes go at
// once, in a second script that decides the device limit for the whole cluster (redis-devices.ts, while
// joined: Cluster.decidesDeviceLimit). Both number their messages alike. Every node applies what the others
// publish (redis-nodes.ts), and reads a node's whole state from
// Redis when it missed a message or when that node announces its whole state (asserted in chunks, never
// pushed to every node). A node silent past --cluster-node-timeout is dropped by whichever node notices
// first; a goodbye drops it at once. Redis lost, restarted or flushed: the node keeps counting its own
// viewers, says so once, retries with backoff, and when Redis is back re-asserts its state and reloads the
// others'; Redis only slow (a timeout with the connection up) is no outage: the node waits until Redis ran
// its call, paced, and asks whether it was applied. Admin requests travel through Redis too (redis-admin.ts). Design and costs: docs/cluster.md.
import { setTimeout as sleep } from 'node:timers/promises';
import { debugFor, logError, logInfo } from '../../log.js';
import type { NodeIdentity } from '../../protocol/datagram.js';
import type { Exclusion } from '../../protocol/ipc.js';
import { sessionIdBytes } from '../../protocol/wire-sessions.js';
import type { Route } from '../admin/server.js';
import { type Cluster, type ClusterReport, type ClusterSession, type ClusterSink, type LocalState, type NodeAdmin } from './cluster.js';
import { DropCounter } from './drop-counter.js';
import { fromPeer, toWire } from './exclusion-order.js';
import { RecentIds } from './recent-ids.js';
import { Slots } from './slots.js';
import { RedisAdmin } from './redis-admin.js';
import { redisNames, type RedisNames } from './redis-keys.js';
import { redactedUrl, redisClient, type RedisLink } from './redis-link.js';
import { encodeBroadcast, encodeInbox, encodeState, isNodeId, parseBroadcast, parseInbox, parseState, VERSION, type BroadcastMessage, type StateMessage } from './redis-messages.js';
import { RedisNodes } from './redis-nodes.js';
import { CALL_FIELD, defineScripts, type ClusterScripts } from './redis-scripts.js';
import { sessionValue } from './redis-device-members.js';
import { defineSessionsScript } from './redis-devices.js';
import { chunks, evictionsOf, EXPELLED_MS, RedisSessions, type Eviction, type SessionPart } from './redis-sessions.js';
import { readNodeState } from './redis-state.js';
import { userKeys, type UserKeys } from './user-keys.js';

const debug = debugFor('cluster');

const ROUND_JITTER = 0.1;
/** Namespaces per ASSERT call when a whole state goes (its arguments are spread on the stack). */
const CHUNK_FIELDS = 4096;
/** The first pause after a command timed out with the connection up; it doubles, capped at a round. */
const SLOW_BASE_MS = 250;
/** ioredis's commandTimeout error. */
const TIMED_OUT = /timed out/i;
/** Other nodes' whole states read at once (the others wait): a mass join is read at this node's pace. */
const RELOADS_IN_FLIGHT = 4;
/** A read of a node's state that timed out (connection up) is tried this many more times, paced. */
const RELOAD_ATTEMPTS = 5;
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
  /** The sessions of this node the device limit evicted, each expelled once. */
  private readonly expelledHere = new RecentIds(2 * EXPELLED_MS, 50_000);
  private readonly sent = { rounds: 0, commands: 0, bytes: 0 };
  /** Numbers this node's script calls, so that after a timeout it can ask Redis whether one was applied. */
  private calls = 0;
  /** Counts the connection losses: an assertion that spans one is not trusted to have completed. */
  private linkEpoch = 0;
  private readonly reloadSlots = new Slots(RELOADS_IN_FLIGHT);
  /** This node's sessions, and the device limit's decisions on them. */
  private readonly sessions: RedisSessions;
  /** A whole state is being asserted: session changes from its snapshot on are queued for after it. */
  private asserting = false;
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
    // A whole state is due (joining, an outage, a flush): it reads every session afresh, so no queue then,
    // unless it is under way (what changed after its snapshot goes after it).
    if (!this.needsFull || this.asserting) this.sessions.queue(changes);
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
      .publish(this.names.all, message).exec().catch((error: Error) => this.failed(error, this.commands));
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
    this.linkEpoch++;
    this.needsFull = true;
    // The whole state that follows reads every session afresh: a queue would only grow during the outage.
    this.sessions.clear();
    if (this.stopped) return;
    if (this.subscriber.status !== 'ready') this.subscribed = false;
    this.lastError = reason;
    if (this.failingSince !== undefined) return;
    this.failingSince = Date.now();
    // Once per outage, not per retry: the backoff keeps retrying quietly.
    logError(`cluster: Redis at ${redactedUrl(this.settings.url)} is unreachable (${reason}): this node keeps counting its own viewers, and rejoins when Redis is back`);
  }

  private async subscribe(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.subscriber.subscribe(this.names.state, this.names.all, this.names.inbox(this.self));
        this.subscribed = true;
        return await this.linkUp();
      } catch (error) {
        if (this.failed(error as Error, this.subscriber)) return;
        // Redis busy (a mass join): the connection is up, so subscribe again, paced, rather than reconnect.
        await pause(Math.min(SLOW_BASE_MS * 2 ** Math.min(attempt, 10), this.settings.notifyIntervalMs) * (0.5 + Math.random()));
        if (this.subscriber.status !== 'ready') return;
      }
    }
  }

  /**
   * A command failed: true when the link is lost (an outage, said once: linkDown), false when Redis was only
   * slow (a timeout while the connection is up). Treating a busy Redis as a lost one would make the node
   * re-assert everything, and a mass join would feed the load that slowed it.
   */
  private failed(error: Error, client: RedisLink): boolean {
    if (TIMED_OUT.test(error.message) && client.status === 'ready') {
      debug('Redis is slow: %s', error.message);
      return false;
    }
    this.linkDown(error.message);
    return true;
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

  /** One step of the flush: this node's changes since the last one, or its whole state when Redis may lack it. */
  private async assertOnce(): Promise<void> {
    if (!this.linkReady()) return;
    if (this.needsFull) return this.assertWhole();
    // O(own changes): the namespaces the audience table saw change, never a walk over the unchanged ones.
    const counts = [...this.local.countChanges()];
    // Called even with no change: the call renews this node's presence.
    if (!(await this.stepped(this.call('counts', { counts, opened: [], ended: [] }, 'changes')))) return;
    for (const part of this.sessions.take()) {
      if (!(await this.stepped(this.call('sessions', { counts: [], ...part }, 'changes')))) return;
    }
  }

  /** False when the flush cannot go on: the link is lost, or Redis lost this node's state (it goes whole next). */
  private async stepped(outcome: Promise<'ok' | 'missing' | 'down'>): Promise<boolean> {
    const result = await outcome;
    if (result === 'missing') {
      this.needsFull = true;
      this.flushAgain = true;
    }
    return result === 'ok';
  }

  /**
   * This node's whole state, in chunks: its counts by CHUNK_FIELDS namespaces (one call spreading 100,000
   * of them would overflow the stack; ASSERT, the first one replacing what Redis held), then its sessions by
   * SESSIONS_PER_CALL (the script of redis-devices.ts, the first one replacing them and the device limit's
   * members of this node; the limit is applied to each). Only the last call publishes, that the whole state
   * is there: the others read it from Redis, each at its pace, never pushed through pub/sub to every node at
   * once. The node is joined after it (from then on Redis decides the device limit). A lost connection or a
   * lost state starts it over; a slow Redis does not (see call()).
   */
  private async assertWhole(): Promise<void> {
    const link = this.linkEpoch;
    this.asserting = true;
    try {
      // Taken before the snapshots below: a change after them is in the next round's changes, none is lost.
      void [...this.local.countChanges()];
      this.sessions.clear();
      const counts = [...this.local.counts()].filter(([, members, connections]) => members > 0 || connections > 0);
      const sessions = chunks([...this.local.sessions()]);
      const countChunks = Math.max(1, Math.ceil(counts.length / CHUNK_FIELDS));
      const steps = [
        ...Array.from({ length: countChunks }, (_, k) => () =>
          this.call('counts', { counts: counts.slice(k * CHUNK_FIELDS, (k + 1) * CHUNK_FIELDS), opened: [], ended: [] }, 'nothing', k === 0)),
        ...sessions.map((part, k) => () => this.call('sessions', { counts: [], ...part }, k === sessions.length - 1 ? 'whole' : 'nothing', k === 0)),
      ];
      for (const step of steps) {
        const outcome = await step();
        if (this.stopped || this.linkEpoch !== link) return;
        if (outcome !== 'ok') {
          // Redis lost this state between two chunks (flushed, or dropped as silent): it goes again whole.
          if (outcome === 'missing') this.flushAgain = true;
          return;
        }
      }
      this.needsFull = false;
      this.joined = true;
    } finally {
      this.asserting = false;
    }
  }

  /**
   * One script call, ASSERT for counts or the sessions' script (redis-devices.ts): `part` applied to this
   * node's hash (replaced first when `replace`), and published: the part itself ('changes', when there are
   * any), or that the whole state is in Redis now ('whole'), or 'nothing'. Both scripts number the messages of
   * one sequence per node (checkSeq). A call that times out while the connection is up (a busy Redis: a mass
   * join) is not an outage, and is not sent again blindly either: Redis still runs it, so the node waits until
   * it has (settle()) and asks whether it was applied; a node that resent at once would pile copies of its
   * calls onto the Redis that was too slow for one. A number that may have been published is never used
   * again: after a lost connection the others would take a repeated one for a message they had.
   */
  private async call(script: 'counts' | 'sessions', part: Pick<StateMessage, 'counts'> & SessionPart, announce: 'changes' | 'whole' | 'nothing', replace = false): Promise<'ok' | 'missing' | 'down'> {
    const countFields: string[] = [];
    const deleted: string[] = [];
    for (const [ns, members, connections] of part.counts) {
      if (members > 0 || connections > 0) countFields.push(ns, `${members} ${connections}`);
      else deleted.push(ns);
    }
    const changed = announce === 'whole' || (announce === 'changes' && (part.counts.length > 0 || part.opened.length > 0 || part.ended.length > 0));
    for (let renumbered = false; ;) {
      const seq = this.seq + 1;
      const { incarnation } = this.settings.identity;
      const message = !changed ? ''
        : announce === 'whole' ? encodeState({ node: this.self, incarnation, seq, full: true, counts: [], opened: [], ended: [] })
          : encodeState({ node: this.self, incarnation, seq, full: false, ...part });
      const id = `${incarnation}:${++this.calls}`;
      let result: (number | string)[];
      try {
        if (script === 'counts') {
          this.count(1, message.length + countFields.reduce((sum, field) => sum + field.length, 0));
          result = await this.scripts.assertState([this.names.nodes, this.names.counts(this.self)], [this.self, incarnation, replace ? 1 : 0,
            this.settings.nodeTimeoutMs, this.names.state, message, seq, countFields.length / 2, ...countFields, deleted.length, ...deleted, id]);
        } else {
          this.count(1, message.length + part.opened.reduce((sum, s) => sum + s.session.length + sessionValue(s).length, 0));
          result = await this.sessions.send(part, replace, message, seq, id);
        }
      } catch (error) {
        // Lost: whatever was not asserted goes in whole when Redis answers again.
        if (this.failed(error as Error, this.commands)) return this.lost(changed, seq);
        const settled = await this.settle(id);
        if (settled === 'down') return this.lost(changed, seq);
        if (settled === 'applied') {
          // Its answer is lost: the device limit's decisions come back on the broadcast (onBroadcast).
          if (changed) this.seq = seq;
          return 'ok';
        }
        // It ran and refused (Redis lost this state, or the numbering): the same call again says which.
        continue;
      }
      if (result[0] === -1) {
        debug('Redis no longer holds this node\'s state (flushed, restarted, or dropped as silent): asserting it whole');
        return 'missing';
      }
      if (result[0] === -2) {
        // The numbering of this node's messages in Redis is not this node's (a refused call it could not see
        // the answer to): number from what Redis published last.
        if (renumbered) return 'missing';
        renumbered = true;
        this.seq = Number(result[1]);
        continue;
      }
      if (changed) this.seq = seq;
      if (script === 'sessions') {
        const evictions = evictionsOf(result);
        if (evictions.length > 0) this.evicted(evictions);
        return 'ok';
      }
      for (const node of result.slice(1)) {
        if (typeof node === 'string' && node !== this.self) void this.dropSilent(node);
      }
      return 'ok';
    }
  }

  /** A call whose outcome is unknown, the link lost: its number is taken (a gap makes the others read, a repeat would be ignored). */
  private lost(changed: boolean, seq: number): 'down' {
    if (changed) this.seq = Math.max(this.seq, seq);
    return 'down';
  }

  /**
   * After a call timed out with the connection up: waits until Redis has run it (a connection's commands run
   * in order, so the answer to a read sent after it comes after it), pausing longer each time the read times
   * out too (250 ms doubling up to a round, ± 50 %), and says whether its script applied it.
   */
  private async settle(id: string): Promise<'applied' | 'refused' | 'down'> {
    for (let attempt = 0; ; attempt++) {
      try {
        this.count(1, 0);
        return (await this.commands.hget(this.names.counts(this.self), CALL_FIELD)) === id ? 'applied' : 'refused';
      } catch (error) {
        if (this.stopped || this.failed(error as Error, this.commands)) return 'down';
        const delay = Math.min(SLOW_BASE_MS * 2 ** Math.min(attempt, 10), this.settings.notifyIntervalMs) * (0.5 + Math.random());
        debug('Redis is still busy with a call of this node: asking again in %d ms', Math.round(delay));
        await pause(delay);
      }
    }
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

  /**
   * One node's whole state, read in one transaction so its counts and sessions match; messages from it wait
   * meanwhile. At most RELOADS_IN_FLIGHT at a time: in a mass join every node reads every node's state, and
   * reading at its own pace keeps Redis from buffering all of them for it at once. A read that timed out
   * while the connection is up is tried again, paced.
   */
  private async reloadNode(node: string): Promise<void> {
    if (!isNodeId(node)) return this.dropSilent(node);
    this.others.startReload(node, Date.now());
    await this.reloadSlots.acquire();
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          this.count(2, 0);
          const state = await readNodeState(this.commands, this.names, node, this.drops);
          if (!state) {
            // Listed but without state (dropped meanwhile, or data of another program).
            this.others.reloadFailed(node);
            return this.others.gone(node, null);
          }
          // A newer whole state came in while this one was read: read again.
          if (this.others.replace(node, state, Date.now()) === undefined) return;
          attempt = -1;
        } catch (error) {
          const slow = TIMED_OUT.test((error as Error).message) && this.commands.status === 'ready';
          if (!slow || attempt >= RELOAD_ATTEMPTS || this.stopped) {
            this.others.reloadFailed(node);
            return debug('could not read node %s: %s', node, (error as Error).message);
          }
          await pause(Math.min(SLOW_BASE_MS * 2 ** attempt, this.settings.notifyIntervalMs) * (0.5 + Math.random()));
        }
      }
    } finally {
      this.reloadSlots.release();
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
      // This node's own call decided them: its answer said so too, unless it was lost to a timeout.
      if (m.t === 'evict') this.evicted(m.evicted);
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

  /**
   * The device limit's decisions, by this node's script or another's: the holder expels, every other node
   * notes. This node's own decisions come twice (its call's answer, its broadcast): expelled once.
   */
  private evicted(evictions: readonly Eviction[]): void {
    const now = Date.now();
    const own: string[] = [];
    const others: string[] = [];
    for (const [holder, session] of evictions) {
      if (holder !== this.self) others.push(session);
      else if (this.expelledHere.add(session, now)) own.push(session);
    }
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
    void this.publish(this.names.all, encodeBroadcast(message)).catch((error: Error) => this.failed(error, this.commands));
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

/** A pause that does not keep a stopping process alive. */
function pause(ms: number): Promise<void> {
  return ms > 0 ? sleep(ms, undefined, { ref: false }) : Promise.resolve();
}

