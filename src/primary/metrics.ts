// GET /metrics: Prometheus text format, with prom-client. Gauges read the primary's own state at scrape time;
// counters are bumped as session events and messages pass through the primary. In a cluster every gauge is
// this node's own share, so that sum() over the nodes is the cluster's total (the stats port keeps the
// cluster totals, as 2.x).
//
// Why one registry in the primary and not prom-client's AggregatorRegistry: the aggregator asks every worker
// for its metrics over IPC on each scrape and merges them. The primary already knows every figure asked
// for (the workers report their counts and sessions each tick), so a plain registry here answers without
// an IPC round trip, keeps metrics code out of the workers' hot path, and cannot time out on a busy worker.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { AttendanceLogStatus } from '../attendance/attendance-log.js';
import type { AudienceTable } from './audience-table.js';
import type { ClusterReport } from './cluster/cluster.js';

export interface MetricsSources {
  table: AudienceTable;
  /** Open connections per worker of this node. */
  perWorker(): Map<number, number>;
  cluster(): ClusterReport;
  /** Whether this node is joined to its cluster (or knowingly alone). */
  joined(): boolean;
  attendance(): AttendanceLogStatus;
  feedSubscribers(): number;
}

export type MessageTarget = 'namespace' | 'user' | 'connection' | 'notification';

export class Metrics {
  readonly registry = new Registry();
  private readonly joins: Counter;
  private readonly leaves: Counter;
  private readonly messages: Counter<'target'>;
  private readonly deliveries: Counter<'target'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'audience_meter_primary_' });
    const gauge = (name: string, help: string, collect: (this: Gauge) => void, labelNames: string[] = []): void => {
      new Gauge({ name, help, labelNames, registers, collect });
    };
    gauge('audience_meter_viewers', 'Viewers now held by this node, all namespaces (sum() over the nodes: the cluster total).', function () {
      let total = 0;
      for (const r of sources.table.namespaces.values()) total += r.localMembers;
      this.set(total);
    });
    gauge('audience_meter_local_viewers', 'Viewers now held by this node\'s workers.', function () {
      let total = 0;
      for (const r of sources.table.namespaces.values()) total += r.localMembers;
      this.set(total);
    });
    gauge('audience_meter_namespaces', 'Namespaces known now (empty ones until --namespace-clean-delay).', function () {
      this.set(sources.table.namespaces.size);
    });
    gauge('audience_meter_worker_connections', 'Open viewer connections per worker of this node.', function () {
      this.reset();
      for (const [worker, count] of sources.perWorker()) this.set({ worker: String(worker) }, count);
    }, ['worker']);
    gauge('audience_meter_peers', 'Other nodes of the cluster known now.', function () {
      this.set(sources.cluster().peers.length);
    });
    gauge('audience_meter_cluster_joined', '1 while this node is joined to its cluster (or alone), 0 while its engine (Redis) is away.', function () {
      this.set(sources.joined() ? 1 : 0);
    });
    gauge('audience_meter_cluster_dropped', 'Messages from other nodes or data under the cluster prefix dropped since the start, by reason.', function () {
      this.reset();
      for (const [reason, count] of Object.entries(sources.cluster().dropped)) this.set({ reason }, count);
    }, ['reason']);
    gauge('audience_meter_attendance_queue', 'Attendance events waiting to be written.', function () {
      this.set(sources.attendance().queued);
    });
    gauge('audience_meter_attendance_dropped', 'Attendance events dropped since the start (queue full while the database was away).', function () {
      this.set(sources.attendance().dropped);
    });
    gauge('audience_meter_attendance_failing', '1 while the attendance database is away.', function () {
      this.set(sources.attendance().failing === undefined ? 0 : 1);
    });
    gauge('audience_meter_feed_subscribers', 'Open GET /api/events streams.', function () {
      this.set(sources.feedSubscribers());
    });
    this.joins = new Counter({ name: 'audience_meter_joins_total', help: 'Viewer connections opened on this node.', registers });
    this.leaves = new Counter({ name: 'audience_meter_leaves_total', help: 'Viewer connections closed on this node.', registers });
    this.messages = new Counter({ name: 'audience_meter_messages_sent_total', help: 'Messages sent through the admin port, by target.', labelNames: ['target'], registers });
    this.deliveries = new Counter({ name: 'audience_meter_message_deliveries_total', help: 'Connections that received a targeted message, by target.', labelNames: ['target'], registers });
  }

  sessions(entered: number, exited: number): void {
    if (entered > 0) this.joins.inc(entered);
    if (exited > 0) this.leaves.inc(exited);
  }

  /** `delivered`: connections that got it, when known (the 2.x notification does not wait for an answer). */
  message(target: MessageTarget, delivered?: number): void {
    this.messages.inc({ target });
    if (delivered !== undefined && delivered > 0) this.deliveries.inc({ target }, delivered);
  }
}
