// GET /api/events: a live SSE feed of joins, leaves and page changes for operators. A subscriber first gets
// a `snapshot` event (who is connected now), then one event per change. Subscribers are few, so each event
// is encoded once and the same buffer is written to every subscriber whose `?ns=` filter matches. One that
// stops reading is dropped once its unsent bytes pass a bound, so a stuck operator cannot grow the primary.
// Other nodes' events come in through cluster-feed.ts: a subscriber can be opened first and given its
// snapshot later, its events held meanwhile, and frames already encoded by a peer can be relayed to it.
// A subscriber writes to a FeedOutput: an operator's response, or another node's relay (the cluster seam).
import type { ServerResponse } from 'node:http';
import { messageFrame, KEEPALIVE_FRAME } from '../../protocol/sse.js';
import type { FeedOutput } from '../cluster/cluster.js';
import { describeConnection, type ConnectionInfo } from '../connections-index.js';

export type FeedEventKind = 'join' | 'leave' | 'page';

/** Unsent bytes past which a subscriber is dropped. */
const MAX_BUFFERED_BYTES = 1 << 20;
/** The snapshot lists at most this many connections (the rest: GET /api/connections, paged). */
export const SNAPSHOT_LIMIT = 1000;
const KEEPALIVE_MS = 25_000;

export interface Subscriber {
  readonly out: FeedOutput;
  /** Only this namespace's events; undefined for all. */
  readonly ns: string | undefined;
  /** Frames that wait for the snapshot; undefined once it is written. */
  held: Buffer[] | undefined;
  heldBytes: number;
}

/** What a snapshot event says: up to SNAPSHOT_LIMIT connections, and how many there are in all. */
export interface Snapshot {
  connections: Record<string, unknown>[];
  total: number;
}

export function snapshotOf(open: Iterable<ConnectionInfo>): Snapshot {
  const snapshot: Snapshot = { connections: [], total: 0 };
  for (const info of open) {
    if (snapshot.total++ < SNAPSHOT_LIMIT) snapshot.connections.push(describeConnection(info));
  }
  return snapshot;
}

export function snapshotFrame(snapshot: Snapshot, more: Record<string, unknown> = {}): Buffer {
  return messageFrame(JSON.stringify({ ...snapshot, time: new Date().toISOString(), ...more }), 'snapshot');
}

/** An operator's response as a feed's output, its SSE head written. */
export function httpFeedOutput(res: ServerResponse): FeedOutput {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-store',
    'X-Accel-Buffering': 'no',
  });
  return {
    write: (frame) => void res.write(frame),
    get buffered() {
      return res.writableLength;
    },
    end: () => res.end(),
    abort: () => res.destroy(),
    onClose(listener) {
      res.on('close', listener);
      res.on('error', listener);
    },
  };
}

export class EventFeed {
  private readonly subscribers = new Set<Subscriber>();
  private keepalive: NodeJS.Timeout | undefined;

  /** Opens the stream on `out` and writes the snapshot of `open` (already filtered by `ns`). */
  subscribe(out: FeedOutput, ns: string | undefined, open: Iterable<ConnectionInfo>): void {
    this.release(this.open(out, ns), snapshotFrame(snapshotOf(open)));
  }

  /**
   * Opens the stream on `out` without its snapshot: events are held until release(). Take the snapshot
   * of this node's connections right away, so that what it misses is exactly what is held.
   */
  open(out: FeedOutput, ns: string | undefined): Subscriber {
    const subscriber: Subscriber = { out, ns, held: [], heldBytes: 0 };
    this.subscribers.add(subscriber);
    out.onClose(() => {
      this.subscribers.delete(subscriber);
      if (this.subscribers.size === 0) this.stopKeepalive();
    });
    this.startKeepalive();
    return subscriber;
  }

  /** Writes the snapshot, then the events held since open(). */
  release(subscriber: Subscriber, snapshot: Buffer): void {
    const held = subscriber.held ?? [];
    subscriber.held = undefined;
    subscriber.heldBytes = 0;
    if (!this.subscribers.has(subscriber)) return;
    subscriber.out.write(snapshot);
    for (const frame of held) this.write(subscriber, frame);
  }

  /** A frame another node encoded for this subscriber. */
  relay(subscriber: Subscriber, frame: Buffer): void {
    if (this.subscribers.has(subscriber)) this.write(subscriber, frame);
  }

  publish(kind: FeedEventKind, info: ConnectionInfo, at: number): void {
    if (this.subscribers.size === 0) return;
    let frame: Buffer | undefined;
    for (const subscriber of this.subscribers) {
      if (subscriber.ns !== undefined && subscriber.ns !== info.ns) continue;
      frame ??= messageFrame(JSON.stringify({ ...describeConnection(info), time: new Date(at).toISOString() }), kind);
      this.write(subscriber, frame);
    }
  }

  get size(): number {
    return this.subscribers.size;
  }

  /** Ends every stream (the primary is stopping). */
  close(): void {
    this.stopKeepalive();
    for (const { out } of this.subscribers) out.end();
    this.subscribers.clear();
  }

  private write(subscriber: Subscriber, frame: Buffer): void {
    const { out } = subscriber;
    if (out.buffered + subscriber.heldBytes > MAX_BUFFERED_BYTES) {
      this.subscribers.delete(subscriber);
      out.abort();
      return;
    }
    if (subscriber.held) {
      subscriber.held.push(frame);
      subscriber.heldBytes += frame.length;
    } else out.write(frame);
  }

  private startKeepalive(): void {
    this.keepalive ??= setInterval(() => {
      for (const subscriber of this.subscribers) this.write(subscriber, KEEPALIVE_FRAME);
    }, KEEPALIVE_MS);
    this.keepalive.unref();
  }

  private stopKeepalive(): void {
    clearInterval(this.keepalive);
    this.keepalive = undefined;
  }
}
