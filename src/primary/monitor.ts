// What the primary keeps for operators, fed from what it already receives: the open connections, the live
// feed, the last hour of counts, the metrics, and targeted messages on their way to the workers. One object,
// so the primary's main file only forwards events to it.
import type { IpStorage } from '../attendance/attendance-options.js';
import type { CountryLookup } from '../attendance/geoip.js';
import { storedIp } from '../attendance/ip-privacy.js';
import type { DeliveryTarget, PageEvent } from '../protocol/ipc.js';
import type { SessionEntry, SessionExit } from '../protocol/sessions.js';
import { EventFeed } from './admin/event-feed.js';
import { ConnectionsIndex } from './connections-index.js';
import { Deliveries, type DeliverMessage } from './deliveries.js';
import { MemberHistory } from './member-history.js';
import { Metrics, type MetricsSources } from './metrics.js';

export interface MonitorDeps extends Omit<MetricsSources, 'perWorker' | 'feedSubscribers'> {
  country: CountryLookup;
  /** What the listing shows of a viewer's address: what the attendance log would store, no more. */
  ipStorage: IpStorage;
  /** Sends to one worker; false when that worker is gone. */
  send(worker: number, message: DeliverMessage): boolean;
  workers(): number[];
  /** An address's count of open connections on this node changed. */
  addressOpen(ip: string, open: number): void;
}

export class Monitor {
  readonly connections: ConnectionsIndex;
  readonly feed = new EventFeed();
  readonly history = new MemberHistory();
  readonly metrics: Metrics;
  private readonly deliveries: Deliveries;

  constructor(private readonly deps: MonitorDeps) {
    this.connections = new ConnectionsIndex(deps.addressOpen);
    this.metrics = new Metrics({ ...deps, perWorker: () => this.connections.perWorker(), feedSubscribers: () => this.feed.size });
    this.deliveries = new Deliveries(deps.send);
  }

  /** Every session entry and exit of this node, the registry's crash and shutdown exits included. */
  sessions(entered: readonly SessionEntry[], exited: readonly SessionExit[]): void {
    this.metrics.sessions(entered.length, exited.length);
    for (const entry of entered) {
      const info = this.connections.enter(entry, { country: this.deps.country(entry.ip), address: storedIp(entry.ip, this.deps.ipStorage) });
      if (info) this.feed.publish('join', info, entry.at);
    }
    for (const exit of exited) {
      const info = this.connections.exit(exit.session);
      if (info) this.feed.publish('leave', info, exit.at);
    }
  }

  /** Page changes the workers report (validated with the report). */
  pages(changes: readonly PageEvent[]): void {
    for (const [connection, page, at] of changes) {
      const info = this.connections.page(connection, page, at);
      if (info) this.feed.publish('page', info, at);
    }
  }

  /**
   * A targeted message: a connection goes to its worker only, a user or a namespace to every worker.
   * Resolves with the number of connections that received it.
   */
  async deliver(target: DeliveryTarget, event: string, data: string, worker: number | undefined): Promise<number> {
    const workers = worker !== undefined ? [worker] : this.deps.workers();
    const delivered = await this.deliveries.deliver(workers, target, event, data);
    this.metrics.message(target.kind, delivered);
    return delivered;
  }

  delivered(worker: number, id: number, count: number): void {
    this.deliveries.delivered(worker, id, count);
  }

  workerGone(worker: number): void {
    this.deliveries.workerGone(worker);
  }

  close(): void {
    this.feed.close();
  }
}
