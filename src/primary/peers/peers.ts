// What the primary needs from the other nodes of a cluster, whatever carries it. The single-node default
// does nothing; UDP multicast is one transport; another (say, a message broker) plugs in here without
// touching the audience table or the rest of the primary.
import type { NodeCount } from '../../protocol/datagram.js';
import type { Exclusion } from '../../protocol/ipc.js';
import type { WireSession } from '../../protocol/wire-sessions.js';

export type { NodeCount, WireSession };

/** What this node advertises every round, read afresh each time. */
export interface LocalState {
  /** Its own counts: members and joins per namespace. */
  counts(): Iterable<NodeCount>;
  /** Its own identified sessions (anonymous ones concern no device limit and no `users`). */
  sessions(): Iterable<WireSession>;
}

/** Where peers' news goes: main.ts turns it into audience-table updates and messages to the workers. */
export interface PeerSink {
  /** A peer's ABSOLUTE local counts for some namespaces; each replaces that peer's previous values for it. */
  counts(peer: string, entries: readonly NodeCount[]): void;
  /** A peer is gone (silent past the timeout, said goodbye, or restarted): forget all it advertised. */
  gone(peer: string): void;
  /** A notification sent to another node's notification port. */
  notification(ns: string, data: string): void;
  /** Uuid exclusions from another node, already put in this node's order (see exclusion-order.ts). */
  exclusions(exclusions: Exclusion[]): void;
  /**
   * A peer's identified sessions: `open` ones it holds (new, or advertised again) and the ids of `ended` ones,
   * which it no longer holds (it said so, or stopped advertising them).
   */
  sessions(peer: string, open: readonly WireSession[], ended: readonly string[]): void;
  /** Sessions another node expelled, each passed on once: their browsers may reconnect to this node. */
  expelled(sessions: readonly string[]): void;
}

export interface PeerInfo {
  id: string;
  /** ip:port the peer's datagrams come from */
  address: string;
  /** ms since the epoch when the peer started */
  incarnation: number;
  /** UNIX seconds (with milliseconds) of its latest accepted datagram */
  lastSeen: number;
  /** namespaces it advertises */
  namespaces: number;
  /** datagrams lost on the way, from gaps in its sequence numbers */
  missed: number;
  /** host:port of its admin (notification) port, where admin requests are forwarded; null until it says, or without one */
  admin: string | null;
}

/** What GET /api/peers on the admin port returns. */
export interface PeersReport {
  transport: 'none' | 'udp-multicast';
  self?: { id: string; incarnation: number; group: string; sent: { rounds: number; datagrams: number; bytes: number } };
  peers: PeerInfo[];
  /** datagrams dropped since start, by reason */
  dropped: Record<string, number>;
}

export interface Peers {
  /** Joins the cluster; rejects with a one-line reason when it cannot. */
  start(): Promise<void>;
  /** Relays a notification to every other node; returns why it cannot be relayed, if it cannot. */
  publishNotification(ns: string, data: string): string | undefined;
  /** Relays this node's uuid exclusions to every other node. */
  publishExclusions(exclusions: readonly Exclusion[]): void;
  /**
   * This node's identified sessions that opened, or ended (entry time ENDED), since the last call: sent now,
   * so a new device expels an old one on another node within milliseconds, not at the next round.
   */
  publishSessions(changes: readonly WireSession[]): void;
  /** Sessions this node expelled, for the other nodes to refuse their browsers' reconnection too. */
  publishExpelled(sessions: readonly string[]): void;
  describe(): PeersReport;
  /**
   * Whether this node has joined its cluster, or is knowingly alone (GET /readyz answers 503 until then).
   * Asked often (a few times a second): it must be cheap.
   */
  isJoined(): boolean;
  /** Leaves the cluster: a goodbye, so the others drop this node's counts at once. */
  stop(): Promise<void>;
}
