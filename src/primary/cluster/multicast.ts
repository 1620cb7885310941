// The cluster over UDP multicast (`-m ip:port`), for one LAN: every node advertises its own absolute local counts to the group
// every --cluster-notify-interval (± jitter, so nodes started together do not send in step), relays
// notifications and uuid exclusions as datagrams of their own, and says goodbye when it stops. Its identified
// sessions go out both ways: changes at once, all of them every round (and its recent expulsions, repeated
// for a while), so a new device expels an old one on another node within milliseconds and a lost datagram
// is healed at the next round. What it hears goes through decodeDatagram (shape, tag) and the PeerRegistry
// (order, expiry, caps). Admin requests go over HTTP from admin port to admin port (http-admin.ts).
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeBindError } from '../../listen.js';
import { debugFor, logError } from '../../log.js';
import { DatagramEncoder, decodeDatagram, type NodeIdentity } from '../../protocol/datagram.js';
import type { Exclusion } from '../../protocol/ipc.js';
import type { HostPort } from '../../options.js';
import type { Route } from '../admin/server.js';
import { DropCounter } from './drop-counter.js';
import { toWire } from './exclusion-order.js';
import { HttpAdmin } from './http-admin.js';
import { httpAdminRoutes } from './http-admin-routes.js';
import { PeerRegistry } from './peer-registry.js';
import { EXPELLED_REPEAT_MS } from './peer-sessions.js';
import type { Cluster, ClusterReport, ClusterSession, ClusterSink, LocalState, NodeAdmin } from './cluster.js';
import { RecentIds } from './recent-ids.js';
import { userKeys, type UserKeys } from './user-keys.js';

const debug = debugFor('peers');

/** Each round starts after the interval × (1 ± this). */
const ROUND_JITTER = 0.1;
/**
 * A round of 10,000 namespaces is about a hundred datagrams. Sent in one go they overflow a receiver's
 * socket buffer before its event loop drains it, so they go out in bursts with a pause between.
 */
const BURST_DATAGRAMS = 32;
const BURST_PAUSE_MS = 5;
/** Asked for; the kernel caps it at net.core.rmem_max. */
const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;
const MAX_PEERS = 64;
const MAX_NAMESPACES_PER_PEER = 100_000;
const MAX_SESSIONS_PER_PEER = 100_000;
/** Beyond this many expulsions within EXPELLED_REPEAT_MS (a storm), the oldest are no longer repeated. */
const MAX_EXPELLED_REPEATED = 4096;
const MIN_DEPARTED_MEMORY_MS = 60_000;

/** Misconfigurations worth a warning the first time they show, beyond the debug line of every drop. */
const WARNINGS = new Map<string, string>([
  ['unexpected tag', 'peers sign their datagrams but --cluster-secret is not set here: their datagrams are ignored'],
  ['unauthenticated', 'unsigned datagrams arrive on the cluster group but --cluster-secret is set: they are ignored'],
  ['bad tag', 'datagrams signed with another --cluster-secret (or forged) arrive on the cluster group: they are ignored'],
  ['unsupported version', 'a node on the cluster group speaks another datagram version: its datagrams are ignored'],
]);

export interface MulticastSettings {
  group: HostPort;
  /** Local address that joins the group and sends; undefined lets the system choose. */
  interfaceAddress: string | undefined;
  ttl: number;
  notifyIntervalMs: number;
  nodeTimeoutMs: number;
  secret: string | undefined;
  identity: NodeIdentity;
  /** This node's admin (notification) port, 0 when disabled: told to peers so they can forward admin requests. */
  adminPort: number;
  /** Sent with forwarded admin requests: the nodes of a multicast cluster share it. */
  adminToken: string | undefined;
}

export class MulticastCluster implements Cluster {
  readonly self: string;
  readonly userKey: UserKeys;
  private readonly socket: Socket;
  private readonly encoder: DatagramEncoder;
  private readonly drops = new DropCounter();
  private readonly registry: PeerRegistry;
  private readonly sent = { rounds: 0, datagrams: 0, bytes: 0 };
  private readonly recentlyExpelled = new RecentIds(EXPELLED_REPEAT_MS, MAX_EXPELLED_REPEATED);
  private roundTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  readonly requests: HttpAdmin;
  private joined = false;
  private stopped = false;

  constructor(private readonly settings: MulticastSettings, private readonly local: LocalState, sink: ClusterSink) {
    this.self = settings.identity.id;
    this.userKey = userKeys(settings.secret);
    this.requests = new HttpAdmin(() => this.registry.describe(), settings.adminToken);
    this.socket = createSocket({ type: isIP(settings.group.host) === 6 ? 'udp6' : 'udp4', reuseAddr: true });
    this.encoder = new DatagramEncoder(settings.identity, settings.secret);
    this.registry = new PeerRegistry(settings.identity, {
      nodeTimeoutMs: settings.nodeTimeoutMs,
      maxPeers: MAX_PEERS,
      maxNamespacesPerPeer: MAX_NAMESPACES_PER_PEER,
      maxSessionsPerPeer: MAX_SESSIONS_PER_PEER,
      departedMemoryMs: Math.max(MIN_DEPARTED_MEMORY_MS, 10 * settings.nodeTimeoutMs),
    }, sink, this.drops);
  }

  async start(): Promise<void> {
    const { group, interfaceAddress, ttl, nodeTimeoutMs, identity } = this.settings;
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', (error: NodeJS.ErrnoException) => reject(new Error(describeBindError('cluster group', group.port, error.code))));
      // Bound to the group address, the socket gets only this group's datagrams, not every datagram sent to
      // the port; Windows cannot bind to a multicast address.
      this.socket.bind({ port: group.port, address: process.platform === 'win32' ? undefined : group.host, exclusive: false }, () => {
        try {
          this.socket.addMembership(group.host, interfaceAddress);
          if (interfaceAddress !== undefined) this.socket.setMulticastInterface(interfaceAddress);
          this.socket.setMulticastTTL(ttl);
          // Nodes on one host (and tests) hear each other only with loopback on; our own datagrams are skipped.
          this.socket.setMulticastLoopback(true);
        } catch (error) {
          reject(new Error(`cannot join cluster group ${this.groupName}${interfaceAddress ? ` on ${interfaceAddress}` : ''}: ${(error as Error).message}`));
          return;
        }
        resolve();
      });
    });
    this.joined = true;
    this.socket.removeAllListeners('error');
    this.socket.on('error', (error) => debug('cluster socket error: %s', error.message));
    this.socket.on('message', (message, remote) => this.onDatagram(message, `${remote.address}:${remote.port}`));
    try {
      this.socket.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
    } catch (error) {
      debug('could not enlarge the receive buffer: %s', (error as Error).message);
    }
    this.expiryTimer = setInterval(() => this.registry.expire(Date.now()), Math.min(500, nodeTimeoutMs / 10));
    debug('node %s (incarnation %d) joined %s', identity.id, identity.incarnation, this.groupName);
    void this.advertise();
  }

  publishNotification(ns: string, data: string): string | undefined {
    const datagram = this.encoder.notification(ns, data);
    if (!datagram) {
      return `too long to relay to the other nodes: service=message may take at most ${this.encoder.maxNotificationBytes(ns)} bytes with this namespace`;
    }
    this.send(datagram);
    return undefined;
  }

  publishExclusions(exclusions: readonly Exclusion[]): void {
    if (exclusions.length === 0) return;
    for (const datagram of this.encoder.exclusions(exclusions.map(toWire))) this.send(datagram);
  }

  publishSessions(changes: readonly ClusterSession[]): void {
    for (const datagram of this.encoder.sessions(changes)) this.send(datagram);
  }

  publishExpelled(sessions: readonly string[]): void {
    const now = Date.now();
    for (const session of sessions) this.recentlyExpelled.add(session, now);
    for (const datagram of this.encoder.expelled(sessions)) this.send(datagram);
  }

  /** Every node applies the rule itself to the sessions the datagrams bring (device-limit.ts). */
  decidesDeviceLimit(): boolean {
    return false;
  }

  serve(admin: NodeAdmin): Route[] {
    return httpAdminRoutes(admin);
  }

  nodes(): string[] {
    return this.registry.describe().map((peer) => peer.id).sort();
  }

  describe(): ClusterReport {
    const { id, incarnation } = this.settings.identity;
    return {
      transport: 'udp-multicast',
      self: { id, incarnation, group: this.groupName, sent: { ...this.sent } },
      peers: this.registry.describe(),
      dropped: this.drops.snapshot(),
    };
  }

  /** Once in the group: it hears the others from then on (who they are is learnt within a round). */
  isJoined(): boolean {
    return this.joined && !this.stopped;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.roundTimer);
    clearInterval(this.expiryTimer);
    if (this.joined) {
      const goodbye = this.encoder.goodbye();
      await new Promise<void>((resolve) => this.socket.send(goodbye, this.settings.group.port, this.settings.group.host, () => resolve()));
      debug('said goodbye to %s', this.groupName);
    }
    // A socket whose bind failed is closed already.
    try {
      this.socket.close();
    } catch {}
  }

  private get groupName(): string {
    const { host, port } = this.settings.group;
    return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
  }

  /**
   * One round: this node's own counts, every namespace it holds, its identified sessions and its recent
   * expulsions, then the next round is scheduled.
   */
  private async advertise(): Promise<void> {
    try {
      // Every round, like the counts: a peer that joins later, or lost one, learns it within a round.
      const datagrams = [...this.encoder.counts(this.local.counts()), this.encoder.admin(this.settings.adminPort),
        ...this.encoder.sessions(this.local.sessions()), ...this.encoder.expelled(this.recentlyExpelled.current(Date.now()))];
      this.sent.rounds++;
      for (let i = 0; i < datagrams.length && !this.stopped; i += BURST_DATAGRAMS) {
        if (i > 0) await sleep(BURST_PAUSE_MS);
        for (const datagram of datagrams.slice(i, i + BURST_DATAGRAMS)) this.send(datagram);
      }
    } catch (error) {
      // A round that fails must not end the rounds: peers would drop this node as if it were dead.
      logError(`could not advertise this node's counts: ${(error as Error).message}`);
    }
    if (this.stopped) return;
    const jitter = 1 + ROUND_JITTER * (2 * Math.random() - 1);
    this.roundTimer = setTimeout(() => void this.advertise(), this.settings.notifyIntervalMs * jitter);
  }

  private send(datagram: Buffer): void {
    if (this.stopped || !this.joined) return;
    this.sent.datagrams++;
    this.sent.bytes += datagram.length;
    this.socket.send(datagram, this.settings.group.port, this.settings.group.host, (error) => {
      if (error) debug('could not send a datagram: %s', error.message);
    });
  }

  private onDatagram(message: Buffer, from: string): void {
    const decoded = decodeDatagram(message, this.settings.secret);
    if (!decoded.ok) return this.drops.drop(decoded.reason, from, `${decoded.reason}: ${decoded.detail}`, WARNINGS.get(decoded.reason));
    this.registry.receive(decoded.datagram, from, Date.now());
  }
}
