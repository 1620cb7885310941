// GET /api/events: a live SSE feed of joins, leaves and page changes for operators. A subscriber first gets
// a `snapshot` event (who is connected now), then one event per change. Subscribers are few, so each event
// is encoded once and the same buffer is written to every subscriber whose `?ns=` filter matches. One that
// stops reading is dropped once its unsent bytes pass a bound, so a stuck operator cannot grow the primary.
import type { ServerResponse } from 'node:http';
import { messageFrame, KEEPALIVE_FRAME } from '../../protocol/sse.js';
import { describeConnection, type ConnectionInfo } from '../connections-index.js';

export type FeedEventKind = 'join' | 'leave' | 'page';

/** Unsent bytes past which a subscriber is dropped. */
const MAX_BUFFERED_BYTES = 1 << 20;
/** The snapshot lists at most this many connections (the rest: GET /api/connections, paged). */
export const SNAPSHOT_LIMIT = 1000;
const KEEPALIVE_MS = 25_000;

interface Subscriber {
  res: ServerResponse;
  /** Only this namespace's events; undefined for all. */
  ns: string | undefined;
}

export class EventFeed {
  private readonly subscribers = new Set<Subscriber>();
  private keepalive: NodeJS.Timeout | undefined;

  /** Opens the stream on `res` and writes the snapshot of `open` (already filtered by `ns`). */
  subscribe(res: ServerResponse, ns: string | undefined, open: Iterable<ConnectionInfo>): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    });
    const connections: Record<string, unknown>[] = [];
    let total = 0;
    for (const info of open) {
      if (total++ < SNAPSHOT_LIMIT) connections.push(describeConnection(info));
    }
    res.write(messageFrame(JSON.stringify({ connections, total, time: new Date().toISOString() }), 'snapshot'));
    const subscriber: Subscriber = { res, ns };
    this.subscribers.add(subscriber);
    const forget = (): void => {
      this.subscribers.delete(subscriber);
      if (this.subscribers.size === 0) this.stopKeepalive();
    };
    res.on('close', forget);
    res.on('error', forget);
    this.startKeepalive();
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
    for (const { res } of this.subscribers) res.end();
    this.subscribers.clear();
  }

  private write(subscriber: Subscriber, frame: Buffer): void {
    const { res } = subscriber;
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      this.subscribers.delete(subscriber);
      res.destroy();
      return;
    }
    res.write(frame);
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
