// Every peer this node hears from: which datagrams are new (incarnation, then sequence number), what each
// peer advertises, and when a peer or one of its namespaces is gone (its sessions: peer-sessions.ts). It takes
// decoded datagrams, so any transport can use it; memory is bounded by the caps whatever arrives.
import { debugFor } from '../../log.js';
import type { Datagram, NodeIdentity } from '../../protocol/datagram.js';
import type { DropCounter } from './drop-counter.js';
import { fromPeer } from './exclusion-order.js';
import { PeerSessions } from './peer-sessions.js';
import { nodeSource, type ClusterSink, type NodeCount, type NodeInfo } from './cluster.js';

/** A peer as GET /api/nodes describes it under multicast. */
export type PeerInfo = Required<NodeInfo>;

const debug = debugFor('peers');

export interface RegistryLimits {
  /** A peer, or one of its namespaces or sessions, not heard of for longer is forgotten. */
  nodeTimeoutMs: number;
  maxPeers: number;
  maxNamespacesPerPeer: number;
  maxSessionsPerPeer: number;
  /** How long a departed peer's last incarnation and sequence are kept, to refuse replays of its datagrams. */
  departedMemoryMs: number;
}

interface Peer {
  readonly id: string;
  readonly source: string;
  address: string;
  incarnation: number;
  lastSeq: number;
  lastSeen: number;
  missed: number;
  /** Its admin (notification) port as it last advertised it; 0 until then, or when it has none. */
  adminPort: number;
  /** namespace → ms when the peer last advertised it */
  readonly namespaces: Map<string, number>;
}

interface Departure {
  incarnation: number;
  lastSeq: number;
  at: number;
}

/** A peer's admin port on the host its datagrams come from (`address` is `ip:port`, IPv6 unbracketed). */
function adminAddress(address: string, port: number): string | null {
  if (port === 0) return null;
  const host = address.slice(0, address.lastIndexOf(':'));
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The audience-table source of a peer's counts. */
export const peerSource = nodeSource;

export class PeerRegistry {
  private readonly peers = new Map<string, Peer>();
  /** In departure order, oldest first. */
  private readonly departed = new Map<string, Departure>();
  private readonly sessions: PeerSessions;

  constructor(
    private readonly self: NodeIdentity,
    private readonly limits: RegistryLimits,
    private readonly sink: ClusterSink,
    private readonly drops: DropCounter,
  ) {
    this.sessions = new PeerSessions(limits, sink, drops);
  }

  receive(datagram: Datagram, address: string, now: number): void {
    if (datagram.header.node === this.self.id) return this.fromOwnId(datagram.header.incarnation, address);
    const peer = this.admit(datagram, address, now);
    if (!peer) return;
    switch (datagram.kind) {
      case 'counts':
        return this.applyCounts(peer, datagram.entries, now);
      case 'goodbye':
        return this.depart(peer, now, 'said goodbye');
      case 'notification':
        return this.sink.notification(datagram.ns, datagram.data);
      case 'exclusions':
        return this.sink.exclusions(datagram.exclusions.map((exclusion) => fromPeer(exclusion, peer.id, this.self.id)));
      case 'sessions':
        return this.sessions.receive(peer, datagram.sessions, now);
      case 'expelled':
        return this.sessions.expelled(datagram.sessions, now);
      case 'admin':
        peer.adminPort = datagram.port;
        return;
    }
  }

  /** Forgets peers, and namespaces and sessions of live peers, not heard of within the node timeout. */
  expire(now: number): void {
    const timeout = this.limits.nodeTimeoutMs;
    for (const peer of this.peers.values()) {
      if (now - peer.lastSeen > timeout) {
        this.depart(peer, now, `silent for ${((now - peer.lastSeen) / 1000).toFixed(1)} s`);
        continue;
      }
      const stale: NodeCount[] = [];
      for (const [ns, seen] of peer.namespaces) {
        if (now - seen > timeout) {
          peer.namespaces.delete(ns);
          stale.push([ns, 0, 0]);
        }
      }
      if (stale.length > 0) {
        debug('node %s no longer advertises %d namespaces', peer.id, stale.length);
        this.sink.counts(peer.source, stale);
      }
    }
    this.sessions.expire(now);
    for (const [id, departure] of this.departed) {
      if (now - departure.at <= this.limits.departedMemoryMs) break;
      this.departed.delete(id);
    }
  }

  describe(): PeerInfo[] {
    return [...this.peers.values()].map((peer) => ({
      id: peer.id,
      address: peer.address,
      incarnation: peer.incarnation,
      lastSeen: peer.lastSeen / 1000,
      namespaces: peer.namespaces.size,
      missed: peer.missed,
      admin: adminAddress(peer.address, peer.adminPort),
    }));
  }

  /** Returns the peer a datagram comes from if the datagram is new, else counts it as dropped. */
  private admit(datagram: Datagram, address: string, now: number): Peer | undefined {
    const { node, incarnation, seq } = datagram.header;
    let peer = this.peers.get(node);
    if (peer) {
      if (incarnation < peer.incarnation) {
        return this.refuse('old incarnation', address, `node ${node}: incarnation ${incarnation} is older than ${peer.incarnation}`);
      }
      if (incarnation > peer.incarnation) {
        debug('node %s restarted (incarnation %d, was %d): its previous counts are dropped', node, incarnation, peer.incarnation);
        this.sink.gone(peer.source);
        peer.namespaces.clear();
        this.sessions.forget(peer.source);
        peer.incarnation = incarnation;
      } else if (seq <= peer.lastSeq) {
        return this.refuse('old or replayed sequence', address, `node ${node}: sequence ${seq}, already had ${peer.lastSeq}`);
      } else {
        peer.missed += seq - peer.lastSeq - 1;
      }
    } else {
      const departure = this.departed.get(node);
      if (departure && (incarnation < departure.incarnation || (incarnation === departure.incarnation && seq <= departure.lastSeq))) {
        return this.refuse('replay from a departed node', address, `node ${node}: incarnation ${incarnation}, sequence ${seq}`);
      }
      // A goodbye from a node not (or no longer) known: nothing to forget, but remember it so replays stay out.
      if (datagram.kind === 'goodbye') return void this.remember(node, { incarnation, lastSeq: seq, at: now });
      if (this.peers.size >= this.limits.maxPeers) {
        return this.refuse('too many peers', address, `node ${node}: ${this.limits.maxPeers} peers already known`,
          `more than ${this.limits.maxPeers} nodes are advertising on the cluster group; the extra ones are ignored`);
      }
      peer = { id: node, source: peerSource(node), address, incarnation, lastSeq: 0, lastSeen: now, missed: 0, adminPort: 0, namespaces: new Map() };
      this.peers.set(node, peer);
      this.departed.delete(node);
      debug('node %s joined from %s (incarnation %d)', node, address, incarnation);
    }
    peer.lastSeq = seq;
    peer.lastSeen = now;
    peer.address = address;
    return peer;
  }

  private applyCounts(peer: Peer, entries: readonly NodeCount[], now: number): void {
    const accepted: NodeCount[] = [];
    let overCap = 0;
    for (const entry of entries) {
      const [ns, members, connections] = entry;
      if (members === 0 && connections === 0) {
        peer.namespaces.delete(ns);
      } else if (peer.namespaces.has(ns) || peer.namespaces.size < this.limits.maxNamespacesPerPeer) {
        peer.namespaces.set(ns, now);
      } else {
        overCap++;
        continue;
      }
      accepted.push(entry);
    }
    if (overCap > 0) {
      this.drops.drop('namespaces over the cap', peer.address, `node ${peer.id}: ${overCap} namespaces beyond ${this.limits.maxNamespacesPerPeer}`,
        `node ${peer.id} advertises more than ${this.limits.maxNamespacesPerPeer} namespaces; the extra ones are not counted`);
    }
    if (accepted.length > 0) this.sink.counts(peer.source, accepted);
  }

  private depart(peer: Peer, now: number, why: string): void {
    this.peers.delete(peer.id);
    this.remember(peer.id, { incarnation: peer.incarnation, lastSeq: peer.lastSeq, at: now });
    debug('node %s (%s) left: %s; its counts are dropped', peer.id, peer.address, why);
    this.sink.gone(peer.source);
    this.sessions.forget(peer.source);
  }

  private remember(id: string, departure: Departure): void {
    this.departed.delete(id);
    this.departed.set(id, departure);
    // Bounded like the peers themselves: forged goodbyes from made-up ids cannot grow it.
    if (this.departed.size > this.limits.maxPeers * 4) this.departed.delete(this.departed.keys().next().value!);
  }

  private fromOwnId(incarnation: number, address: string): void {
    // Our own datagrams come back (multicast loopback lets nodes on one host hear each other): not news.
    if (incarnation === this.self.incarnation) return;
    this.drops.drop('own node id', address, `incarnation ${incarnation} uses this node's id ${this.self.id}`,
      `datagrams with this node's id ${this.self.id} come from another process (${address}): two nodes with the same host name and public address?`);
  }

  private refuse(reason: string, address: string, detail: string, warning?: string): undefined {
    this.drops.drop(reason, address, detail, warning);
    return undefined;
  }
}
