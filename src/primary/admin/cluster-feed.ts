// GET /api/events across a cluster. For each operator's feed, this node opens every other node's own feed
// through the cluster seam (Cluster.watch), for as long as the operator's feed stays open. The
// first event merges this node's snapshot with the peers' snapshots (everything that happens meanwhile
// waits, as it does for this node's own events), then every node's joins, leaves and page changes follow
// as they come. A peer that joins the cluster later, or could not be reached at first, is subscribed to
// within RESCAN_MS, and the viewers its snapshot lists are told as joins. Operators are few, so one
// upstream per operator and peer is cheap, and each feed gets exactly its own `?ns=` from every node.
import { messageFrame } from '../../protocol/sse.js';
import type { Cluster, FeedOutput } from '../cluster/cluster.js';
import { SNAPSHOT_LIMIT, snapshotFrame, type EventFeed, type Snapshot, type SnapshotSource, type Subscriber } from './event-feed.js';

const RESCAN_MS = 1000;
const RELAYED = new Set(['join', 'leave', 'page']);

export class ClusterFeed {
  constructor(private readonly feed: EventFeed, private readonly cluster: Cluster) {}

  /** Like EventFeed.subscribe, with every other node's viewers and events as well. */
  subscribe(out: FeedOutput, ns: string | undefined, localSnapshot: SnapshotSource): void {
    const subscriber = this.feed.open(out, ns);
    const local = localSnapshot(ns);
    /** node id → what closes the upstream */
    const upstreams = new Map<string, () => void>();
    let rescan: NodeJS.Timeout | undefined;
    let closed = false;

    const connect = (node: string): Promise<Snapshot | undefined> => new Promise((resolve) => {
      /** The first event of a peer's feed is its snapshot; the others are relayed. */
      let awaitingSnapshot = true;
      const done = (snapshot: Snapshot | undefined): void => {
        awaitingSnapshot = false;
        resolve(snapshot);
      };
      const close = this.cluster.requests.watch(node, ns, {
        event: (kind, data) => {
          if (!awaitingSnapshot) return this.relay(subscriber, kind, data);
          const snapshot = kind === 'snapshot' ? parseSnapshot(data) : undefined;
          if (!snapshot) stop();
          done(snapshot);
        },
        end: () => {
          upstreams.delete(node);
          done(undefined);
        },
      });
      const stop = (): void => {
        close();
        upstreams.delete(node);
        done(undefined);
      };
      upstreams.set(node, stop);
    });

    const lookAround = (): void => {
      const live = new Set<string>();
      for (const node of this.cluster.nodes()) {
        live.add(node);
        if (upstreams.has(node)) continue;
        void connect(node).then((snapshot) => {
          for (const connection of snapshot?.connections ?? []) this.relay(subscriber, 'join', JSON.stringify({ ...connection, time: connection.since }));
        });
      }
      for (const [id, stop] of upstreams) if (!live.has(id)) stop();
    };

    out.onClose(() => {
      closed = true;
      clearInterval(rescan);
      for (const stop of upstreams.values()) stop();
    });

    const initial = this.cluster.nodes();
    void Promise.all([local, Promise.all(initial.map(connect))]).then(([own, snapshots]) => {
      if (closed) return;
      const unreachable = initial.filter((_, i) => !snapshots[i]);
      this.feed.release(subscriber, snapshotFrame(merge(own, snapshots), unreachable.length > 0 ? { unreachable } : {}));
      rescan = setInterval(lookAround, RESCAN_MS);
    });
  }

  /** A peer's event, checked and re-encoded: the feed only ever carries one-line JSON objects. */
  private relay(subscriber: Subscriber, kind: string, data: string): void {
    if (!RELAYED.has(kind)) return;
    const event = parseObject(data);
    if (event) this.feed.relay(subscriber, messageFrame(JSON.stringify(event), kind));
  }
}

function merge(local: Snapshot, peers: (Snapshot | undefined)[]): Snapshot {
  const merged: Snapshot = { connections: [...local.connections], total: local.total };
  for (const snapshot of peers) {
    if (!snapshot) continue;
    merged.total += snapshot.total;
    merged.connections.push(...snapshot.connections.slice(0, SNAPSHOT_LIMIT - merged.connections.length));
  }
  return merged;
}

function parseSnapshot(data: string): Snapshot | undefined {
  const snapshot = parseObject(data);
  if (!snapshot || !Array.isArray(snapshot.connections) || !Number.isSafeInteger(snapshot.total)) return undefined;
  const connections = (snapshot.connections as unknown[]).filter((c): c is Record<string, unknown> => isObject(c)).slice(0, SNAPSHOT_LIMIT);
  return { connections, total: Math.max(snapshot.total as number, connections.length) };
}

function parseObject(data: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(data);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
