// The cluster seam: everything that crosses nodes, in the daemon's own terms. The primary gives a transport
// this node's state to assert (LocalState) and a sink for what the other nodes assert (ClusterSink), and the
// admin API gives it this node's answers to the others' admin requests (NodeAdmin). Three transports plug in
// here: the single-node default (does nothing), UDP multicast (one LAN) and Redis (any cloud); a new one
// (NATS, say) is one more file that implements Cluster. Nothing outside src/primary/cluster/ knows which runs.
import type { Exclusion } from '../../protocol/ipc.js';
import type { DeliveryTarget } from '../../protocol/ipc.js';
import type { Route } from '../admin/server.js';

/** One namespace's counts on one node: [namespace, members, connections since it was created]. */
export type NodeCount = [ns: string, members: number, connections: number];

/** An identified session as the other nodes need it for the device limit and `users`. */
export interface ClusterSession {
  ns: string;
  /** The user's cluster-wide key (Cluster.userKey), never the user id itself. */
  user: string;
  session: string;
  /** Entry time, ms since the epoch; ENDED in a change that says the session ended. */
  at: number;
}

/** The audience-table source that holds a node's counts, whatever the transport. */
export function nodeSource(id: string): string {
  return `node:${id}`;
}

/** The entry time of a change that says a session ended. */
export const ENDED = 0;

/** What this node asserts, read afresh whenever a transport needs its whole state. */
export interface LocalState {
  /** Its own counts: members and joins per namespace. */
  counts(): Iterable<NodeCount>;
  /**
   * Its own counts of the namespaces that changed since the last call ([ns, 0, 0]: no longer held), for a
   * transport that sends only changes (Redis). Each change is handed out once: the first call starts the
   * tracking, so the caller asserts counts() whole along with it (and again whenever it lost what it took).
   */
  countChanges(): Iterable<NodeCount>;
  /** Its own identified sessions (anonymous ones concern no device limit and no `users`). */
  sessions(): Iterable<ClusterSession>;
}

/** Where the other nodes' news goes: main.ts turns it into audience-table updates and messages to the workers. */
export interface ClusterSink {
  /** A node's ABSOLUTE local counts for some namespaces; each replaces that node's previous values for it. */
  counts(node: string, entries: readonly NodeCount[]): void;
  /** A node is gone (silent past the timeout, said goodbye, or restarted): forget all it asserted. */
  gone(node: string): void;
  /** A notification sent to another node's notification port. */
  notification(ns: string, data: string): void;
  /** Uuid exclusions from another node, already put in this node's order (see exclusion-order.ts). */
  exclusions(exclusions: Exclusion[]): void;
  /** A node's identified sessions: `open` ones it holds (new or asserted again), and ids of `ended` ones. */
  sessions(node: string, open: readonly ClusterSession[], ended: readonly string[]): void;
  /** Sessions another node expelled, each passed on once: their browsers may reconnect to this node. */
  expelled(sessions: readonly string[]): void;
  /**
   * This node's sessions that the transport decided must go by the device limit (Cluster.decidesDeviceLimit):
   * expel them. The transport has told every other node already, so they are not published again.
   */
  expel(sessions: readonly string[]): void;
}

/** A listing request and one node's page of it (the cursor is that node's own). */
export interface ListingQuery {
  ns: string | undefined;
  user: string | undefined;
  limit: number;
}

export interface NodePage {
  /** Connections as the admin API describes them. */
  connections: unknown[];
  next: number | null;
}

/** Where the frames of a live feed go: an operator's HTTP response, or a relay to another node. */
export interface FeedOutput {
  write(frame: Buffer): void;
  /** Bytes written but not sent yet: a feed that stops reading is dropped past a bound. */
  readonly buffered: number;
  end(): void;
  /** Drops a reader that stopped reading, at once. */
  abort(): void;
  /** Called once when the reader goes away. */
  onClose(listener: () => void): void;
}

/** This node's answers to another node's admin request (the admin API provides them). */
export interface NodeAdmin {
  /** This node's own page of the listing (asked from its workers). */
  page(query: ListingQuery, after: number): Promise<NodePage>;
  /** Resolves with the connections that got it; undefined for a connection this node does not hold. */
  deliver(target: DeliveryTarget, event: string, data: string): Promise<number | undefined>;
  /** Opens a feed of this node's own events on `out`: its snapshot first, then its joins, leaves and pages. */
  watch(ns: string | undefined, out: FeedOutput): void;
}

/** Time for another node to answer an admin request (or, for a feed, to send its first event). */
export const ADMIN_REPLY_TIMEOUT_MS = 3000;

/** An answer from another node, or why there is none: 404 no such target, 502 unreachable or refused, 504 too slow. */
export type NodeReply<T> = { ok: true; value: T } | { ok: false; status: 404 | 502 | 504; reason: string };

export interface FeedHandlers {
  /** One event of that node's feed (its `snapshot` first), as the SSE event name and data. */
  event(kind: string, data: string): void;
  /** Called once, when the feed cannot open or ends (not after close()). */
  end(reason: string): void;
}

export interface NodeInfo {
  id: string;
  /** ms since the epoch when the node started */
  incarnation: number;
  /** UNIX seconds (with milliseconds) when it was last heard of */
  lastSeen: number;
  /** namespaces it counts viewers in */
  namespaces: number;
  /** Multicast: ip:port its datagrams come from. */
  address?: string;
  /** Multicast: datagrams lost on the way, from gaps in its sequence numbers. */
  missed?: number;
  /** Multicast: host:port of its admin port, where admin requests go; null until it says, or without one. */
  admin?: string | null;
}

/** What this node sent since it started. */
export interface Traffic {
  rounds: number;
  /** datagrams (multicast) or commands (Redis) */
  datagrams?: number;
  commands?: number;
  bytes: number;
}

/** What GET /api/nodes (and its old name /api/peers) returns. */
export interface ClusterReport {
  transport: 'none' | 'udp-multicast' | 'redis';
  /** This node, with what its transport knows of its own link. */
  self?: {
    id: string;
    incarnation: number;
    /** Multicast: the group. */
    group?: string;
    /** Redis: the server (without its password), whether it is reachable now, and since when it is not. */
    redis?: { url: string; prefix: string; connected: boolean; joined: boolean; failingSince: string | null; lastError: string | null };
    sent: Traffic;
  };
  /** The other nodes. */
  peers: NodeInfo[];
  /** Messages from the other nodes (or found under the prefix) dropped since start, by reason. */
  dropped: Record<string, number>;
}

/** Request/reply to one other node: each transport has its way (multicast: HTTP; Redis: inbox channels). */
export interface NodeRequests {
  listConnections(node: string, query: ListingQuery, after: number): Promise<NodeReply<NodePage>>;
  /** A message to a target on `node` (a connection it holds, a user, a namespace). */
  deliver(node: string, target: DeliveryTarget, event: string, data: string): Promise<NodeReply<number>>;
  /** Opens `node`'s own feed; returns what closes it. */
  watch(node: string, ns: string | undefined, handlers: FeedHandlers): () => void;
}

export interface Cluster {
  /** This node's id, the same across restarts. */
  readonly self: string;
  /** Joins the cluster; rejects with a one-line reason when it cannot (a transport that retries resolves). */
  start(): Promise<void>;
  /** True once this node has joined its cluster or knows it is alone; false while its engine is away. */
  isJoined(): boolean;
  /** The key that stands for a user of `ns` on every node (user ids themselves never leave the node). */
  userKey(ns: string, user: string): string;
  /** Relays a notification to every other node; returns why it cannot be relayed, if it cannot. */
  publishNotification(ns: string, data: string): string | undefined;
  /** Relays this node's uuid exclusions to every other node. */
  publishExclusions(exclusions: readonly Exclusion[]): void;
  /**
   * This node's identified sessions that opened, or ended (entry time ENDED), since the last call: told now,
   * so a new device expels an old one on another node within milliseconds, not at the next round.
   */
  publishSessions(changes: readonly ClusterSession[]): void;
  /** Sessions this node expelled, for the other nodes to refuse their browsers' reconnection too. */
  publishExpelled(sessions: readonly string[]): void;
  /**
   * True while the transport takes the device limit's decisions for the whole cluster (Redis, in one script,
   * while joined) and hands this node its share through ClusterSink.expel; false while every node applies
   * the rule itself to the sessions it knows (single node, multicast, Redis while away).
   */
  decidesDeviceLimit(): boolean;
  describe(): ClusterReport;

  /**
   * Hands the transport this node's admin answers; returns the routes it needs on the admin port to
   * serve them (multicast answers other nodes over HTTP; Redis needs none).
   */
  serve(admin: NodeAdmin): Route[];
  /** The other nodes that admin requests can reach now, in id order. */
  nodes(): string[];
  /** Admin requests to another node, and their replies, as this transport carries them. */
  readonly requests: NodeRequests;

  /** Leaves the cluster: a goodbye, so the others drop this node's counts at once. */
  stop(): Promise<void>;
}
