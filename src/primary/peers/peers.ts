// What the primary needs from the other nodes of a cluster, whatever carries it. The single-node default
// does nothing; UDP multicast is one transport; another (say, a message broker) plugs in here without
// touching the audience table or the rest of the primary.
import type { NodeCount } from '../../protocol/datagram.js';
import type { Exclusion } from '../../protocol/ipc.js';

export type { NodeCount };

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
  describe(): PeersReport;
  /** Leaves the cluster: a goodbye, so the others drop this node's counts at once. */
  stop(): Promise<void>;
}
