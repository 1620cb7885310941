// What the admin port shows of this worker's connections: the facts of each open one (its session's entry,
// its page kept current), listed when the primary asks (GET /api/connections, a feed's snapshot), and, only
// while a live feed is open on the node, each join, leave and page change for the next report. The primary
// keeps none of this: it asks the workers when an operator looks (DESIGN principle 2 still holds: feed events
// travel in the per-tick report, and only while someone watches).
//
// Connections are kept by this worker's connection number, in the order they came (a Map keeps insertion
// order, and numbers are taken in order): the listing's stable order within a worker.
import type { ConnectionFacts, FeedEvent, PageEvent } from '../protocol/ipc.js';
import type { ConnectionIds } from './session-ids.js';

export interface ListedPage {
  connections: ConnectionFacts[];
  /** Connections that match from `from` on, listed or not. */
  matched: number;
}

export class ConnectionListing {
  private readonly byNumber = new Map<number, ConnectionFacts>();
  private feedOn = false;
  private feed: FeedEvent[] = [];

  constructor(private readonly ids: ConnectionIds) {}

  add(connection: number, facts: ConnectionFacts): void {
    this.byNumber.set(connection, facts);
    if (this.feedOn) this.feed.push(['join', facts, facts.at]);
  }

  remove(connection: number, at: number): void {
    const facts = this.byNumber.get(connection);
    if (!facts) return;
    this.byNumber.delete(connection);
    if (this.feedOn) this.feed.push(['leave', facts, at]);
  }

  /** WebSocket viewers' page changes, as the report gathered them. */
  pages(changes: readonly PageEvent[]): void {
    for (const [id, page, at] of changes) {
      const number = this.ids.counterOf(id);
      const facts = number === undefined ? undefined : this.byNumber.get(number);
      if (!facts) continue;
      facts.page = page;
      // A copy: a join of the same tick, not sent yet, keeps the page it came with.
      if (this.feedOn) this.feed.push(['page', { ...facts }, at]);
    }
  }

  /** Up to `limit` connections from number `from` on, of `ns` and `user` when given. */
  list(ns: string | null, user: string | null, from: number, limit: number): ListedPage {
    const page: ListedPage = { connections: [], matched: 0 };
    for (const [number, facts] of this.byNumber) {
      if (number < from || (ns !== null && facts.ns !== ns) || (user !== null && facts.user !== user)) continue;
      if (page.matched++ < limit) page.connections.push(facts);
    }
    return page;
  }

  /** A feed opened on the node (the first) or closed (the last). */
  setFeed(on: boolean): void {
    this.feedOn = on;
    if (!on) this.feed = [];
  }

  takeFeed(): FeedEvent[] {
    if (this.feed.length === 0) return this.feed;
    const taken = this.feed;
    this.feed = [];
    return taken;
  }
}
