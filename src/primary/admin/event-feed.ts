// GET /api/events: a live SSE feed of joins, leaves and page changes for operators. A subscriber first gets
// a `snapshot` event (who is connected now), then one event per change. Subscribers are few, so each event
// is encoded once and the same buffer is written to every subscriber whose `?ns=` filter matches. One that
// stops reading is dropped once its unsent bytes pass a bound, so a stuck operator cannot grow the primary.
// Other nodes' events come in through cluster-feed.ts: a subscriber can be opened first and given its
// snapshot later, its events held meanwhile, and frames already encoded by a peer can be relayed to it.
// A subscriber writes to a FeedOutput: an operator's response, or another node's relay (the cluster seam).
// The primary keeps no connection: the snapshot is asked from the workers, and the workers send their joins,
// leaves and page changes only while a feed is open (`onWatched` tells them when the first opens and the
// last closes).
import type { ServerResponse } from 'node:http';
import { MAX_LISTED } from '../../protocol/ipc.js';
import { messageFrame, KEEPALIVE_FRAME } from '../../protocol/sse.js';
import type { FeedOutput } from '../cluster/cluster.js';
import type { ConnectionView } from '../connection-view.js';

export type FeedEventKind = 'join' | 'leave' | 'page';

/** Unsent bytes past which a subscriber is dropped. */
const MAX_BUFFERED_BYTES = 1 << 20;
/** The snapshot lists at most this many connections (the rest: GET /api/connections, paged). */
export const SNAPSHOT_LIMIT = MAX_LISTED;
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

/** This node's own snapshot of `ns` (all when undefined), asked when a feed opens. */
export type SnapshotSource = (ns: string | undefined) => Promise<Snapshot>;

export class EventFeed {
  private readonly subscribers = new Set<Subscriber>();
  private keepalive: NodeJS.Timeout | undefined;

  /** `onWatched(true)` when the first subscriber opens, `(false)` when the last goes. */
  constructor(private readonly onWatched: (watched: boolean) => void = () => {}) {}

  /** Opens the stream on `out`, then writes this node's snapshot from `snapshot` and the events held meanwhile. */
  subscribe(out: FeedOutput, ns: string | undefined, snapshot: SnapshotSource): void {
    const subscriber = this.open(out, ns);
    void snapshot(ns).then((taken) => this.release(subscriber, snapshotFrame(taken)));
  }

  /**
   * Opens the stream on `out` without its snapshot: events are held until release(). Ask for the snapshot
   * of this node's connections after this (the workers hear that a feed is open first), so that what it
   * misses is what is held.
   */
  open(out: FeedOutput, ns: string | undefined): Subscriber {
    const subscriber: Subscriber = { out, ns, held: [], heldBytes: 0 };
    this.subscribers.add(subscriber);
    if (this.subscribers.size === 1) this.onWatched(true);
    out.onClose(() => this.drop(subscriber));
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

  /** An event of this node's connection in `ns`; `describe` runs only when a subscriber wants it. */
  publish(kind: FeedEventKind, ns: string, describe: () => ConnectionView, at: number): void {
    if (this.subscribers.size === 0) return;
    let frame: Buffer | undefined;
    for (const subscriber of this.subscribers) {
      if (subscriber.ns !== undefined && subscriber.ns !== ns) continue;
      frame ??= messageFrame(JSON.stringify({ ...describe(), time: new Date(at).toISOString() }), kind);
      this.write(subscriber, frame);
    }
  }

  get size(): number {
    return this.subscribers.size;
  }

  /** Ends every stream (the primary is stopping). */
  close(): void {
    this.stopKeepalive();
    const open = [...this.subscribers];
    this.subscribers.clear();
    for (const { out } of open) out.end();
  }

  private drop(subscriber: Subscriber): void {
    if (!this.subscribers.delete(subscriber)) return;
    if (this.subscribers.size > 0) return;
    this.stopKeepalive();
    this.onWatched(false);
  }

  private write(subscriber: Subscriber, frame: Buffer): void {
    const { out } = subscriber;
    if (out.buffered + subscriber.heldBytes > MAX_BUFFERED_BYTES) {
      this.drop(subscriber);
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
