// What the primary keeps for operators, fed from what it already receives: the live feed, the last hour of
// counts, the metrics, and targeted messages on their way to the workers. It keeps no connection: the
// listing and the feed's snapshot are asked from the workers when wanted (worker-listing.ts), and the workers
// send their feed events only while a feed is open. One object, so the primary's main file only forwards
// events to it.
import type { IpStorage } from '../attendance/attendance-options.js';
import type { CountryLookup } from '../attendance/geoip.js';
import { parseConnectionId } from '../protocol/connection-id.js';
import type { DeliveryTarget, FeedEvent, PrimaryMessage } from '../protocol/ipc.js';
import type { SessionEntry, SessionExit } from '../protocol/sessions.js';
import { EventFeed, type Snapshot } from './admin/event-feed.js';
import { connectionDescriber, type DescribeConnection } from './connection-view.js';
import { Deliveries } from './deliveries.js';
import { MemberHistory } from './member-history.js';
import { Metrics, type MetricsSources } from './metrics.js';
import { WorkerListing } from './worker-listing.js';

export interface MonitorDeps extends Omit<MetricsSources, 'feedSubscribers'> {
  country: CountryLookup;
  /** What the listing shows of a viewer's address: what the attendance log would store, no more. */
  ipStorage: IpStorage;
  /** Sends to one worker; false when that worker is gone. */
  send(worker: number, message: PrimaryMessage): boolean;
  broadcast(message: PrimaryMessage): void;
  workers(): number[];
}

export class Monitor {
  readonly feed: EventFeed;
  readonly listing: WorkerListing;
  readonly history = new MemberHistory();
  readonly metrics: Metrics;
  private readonly deliveries: Deliveries;
  private readonly describe: DescribeConnection;

  constructor(private readonly deps: MonitorDeps) {
    this.describe = connectionDescriber(deps.country, deps.ipStorage);
    this.feed = new EventFeed((watched) => deps.broadcast({ type: 'feed', on: watched }));
    this.listing = new WorkerListing({ workers: deps.workers, send: deps.send, describe: this.describe });
    this.metrics = new Metrics({ ...deps, feedSubscribers: () => this.feed.size });
    this.deliveries = new Deliveries(deps.send);
  }

  /** Every session entry and exit the workers report. */
  sessions(entered: readonly SessionEntry[], exited: readonly SessionExit[]): void {
    this.metrics.sessions(entered.length, exited.length);
  }

  /** A worker's joins, leaves and page changes, sent while a feed is open. */
  feedEvents(events: readonly FeedEvent[]): void {
    for (const [kind, facts, at] of events) this.feed.publish(kind, facts.ns, () => this.describe(facts), at);
  }

  /** What a worker that starts must know: whether a feed is open. */
  feedState(): PrimaryMessage {
    return { type: 'feed', on: this.feed.size > 0 };
  }

  snapshot(ns: string | undefined): Promise<Snapshot> {
    return this.listing.snapshot(ns);
  }

  /**
   * A targeted message: a connection goes to its worker only (its id names it), a user or a namespace to
   * every worker. Resolves with the number of connections that received it; undefined for a connection
   * this node does not hold.
   */
  async deliver(target: DeliveryTarget, event: string, data: string): Promise<number | undefined> {
    let workers = this.deps.workers();
    if (target.kind === 'connection') {
      const id = parseConnectionId(target.connection);
      if (id?.node !== this.deps.node || !workers.includes(id.worker)) return undefined;
      workers = [id.worker];
    }
    const delivered = await this.deliveries.deliver(workers, target, event, data);
    // Its worker does not hold it (closed meanwhile, or never was): no such connection, as for any other id.
    if (target.kind === 'connection' && delivered === 0) return undefined;
    this.metrics.message(target.kind, delivered);
    return delivered;
  }

  delivered(worker: number, id: number, count: number): void {
    this.deliveries.delivered(worker, id, count);
  }

  workerGone(worker: number): void {
    this.deliveries.workerGone(worker);
    this.listing.workerGone(worker);
  }

  close(): void {
    this.feed.close();
  }
}
