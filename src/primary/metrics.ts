// GET /metrics: Prometheus text format, with prom-client. Gauges read the primary's own state at scrape time;
// counters are bumped as session events and messages pass through the primary.
//
// Every figure is this node's own share, so that `sum()` over the nodes of a cluster is the cluster's total
// (the stats port keeps the cluster totals, as 2.x). Counters are counters (`_total`, never going down while
// the process lives); series that come and go with a worker are labelled by the worker's slot (1..--workers),
// which a respawned worker takes over, so a dead worker's series reads 0 instead of vanishing.
//
// Why one registry in the primary and not prom-client's AggregatorRegistry: the aggregator asks every worker
// for its metrics over IPC on each scrape and merges them. The primary already knows every figure asked
// for (the workers report their counts and sessions each tick), so a plain registry here answers without
// an IPC round trip, keeps metrics code out of the workers' hot path, and cannot time out on a busy worker.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { AttendanceLogStatus } from '../attendance/attendance-log.js';
import type { AudienceTable } from './audience-table.js';
import { busiestNamespaces } from './busiest-namespaces.js';
import type { ClusterReport } from './cluster/cluster.js';

export interface MetricsSources {
  table: AudienceTable;
  /** Viewers counted per worker id of this node (the audience table's share of each). */
  perWorker(): Map<number, number>;
  /** The slot (1..workerCount) of each live worker id. */
  workerSlots(): ReadonlyMap<number, number>;
  workerCount: number;
  /** At most this many namespaces get series of their own (--metrics-namespaces; 0: none). */
  namespaceLimit: number;
  /** This node's id, as in connection ids and /api/peers. */
  node: string;
  cluster(): ClusterReport;
  /** Whether this node is joined to its cluster (or knowingly alone). */
  joined(): boolean;
  attendance(): AttendanceLogStatus;
  feedSubscribers(): number;
}

export type MessageTarget = 'namespace' | 'user' | 'connection' | 'notification';

const METRIC_PREFIX = 'audience_meter_primary_';
/**
 * prom-client's default metrics include three gauges ending in `_total`, which `promtool check metrics`
 * refuses (only counters may end so); `nodejs_active_handles{type}` and its siblings already hold the same
 * figures by type, so `sum()` of those replaces them.
 */
const GAUGES_NAMED_LIKE_COUNTERS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export class Metrics {
  readonly registry = new Registry();
  private readonly joins: Counter;
  private readonly leaves: Counter;
  private readonly messages: Counter<'target'>;
  private readonly deliveries: Counter<'target'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
    for (const name of GAUGES_NAMED_LIKE_COUNTERS) this.registry.removeSingleMetric(METRIC_PREFIX + name);
    const gauge = (name: string, help: string, collect: (this: Gauge) => void, labelNames: string[] = []): void => {
      new Gauge({ name, help, labelNames, registers, collect });
    };
    /** A counter whose value the primary already keeps (it only grows); read at scrape time. */
    const keptCounter = (name: string, help: string, collect: (this: Counter) => void, labelNames: string[] = []): void => {
      new Counter({ name, help, labelNames, registers, collect });
    };
    gauge('audience_meter_node_info', 'Always 1, labelled with this node\'s id: count() of it is the number of nodes scraped.', function () {
      this.reset();
      this.set({ node: sources.node }, 1);
    }, ['node']);
    gauge('audience_meter_viewers', 'Viewers now held by this node\'s workers, all namespaces (sum over nodes: the cluster\'s audience).', function () {
      this.set(sources.table.localMembers());
    });
    gauge('audience_meter_namespaces', 'Namespaces known now (empty ones until --namespace-clean-delay).', function () {
      this.set(sources.table.namespaces.size);
    });
    gauge('audience_meter_namespace_members', 'Viewers now held by this node in one namespace; the --metrics-namespaces busiest only.', function () {
      this.reset();
      for (const r of busiestNamespaces(sources.table.namespaces, sources.namespaceLimit)) this.set({ namespace: r.name }, r.localMembers);
    }, ['namespace']);
    keptCounter('audience_meter_namespace_joins_total', 'Viewer connections opened on this node in one namespace since it was created here; the --metrics-namespaces busiest only.', function () {
      this.reset();
      for (const r of busiestNamespaces(sources.table.namespaces, sources.namespaceLimit)) this.inc({ namespace: r.name }, r.localConnections);
    }, ['namespace']);
    gauge('audience_meter_worker_connections', 'Viewers counted per worker slot of this node, from its latest report (a respawned worker takes its slot over).', function () {
      const bySlot = new Map<number, number>();
      for (let slot = 1; slot <= sources.workerCount; slot++) bySlot.set(slot, 0);
      const slots = sources.workerSlots();
      for (const [worker, count] of sources.perWorker()) {
        const slot = slots.get(worker);
        if (slot !== undefined) bySlot.set(slot, count);
      }
      for (const [slot, count] of bySlot) this.set({ worker: String(slot) }, count);
    }, ['worker']);
    gauge('audience_meter_peers', 'Other nodes of the cluster known now.', function () {
      this.set(sources.cluster().peers.length);
    });
    gauge('audience_meter_cluster_joined', '1 while this node is joined to its cluster (or alone), 0 while its engine (Redis) is away.', function () {
      this.set(sources.joined() ? 1 : 0);
    });
    keptCounter('audience_meter_cluster_dropped_total', 'Messages from other nodes or data under the cluster prefix dropped since the start, by reason.', function () {
      this.reset();
      for (const [reason, count] of Object.entries(sources.cluster().dropped)) this.inc({ reason }, count);
    }, ['reason']);
    gauge('audience_meter_attendance_queue', 'Attendance events waiting to be written.', function () {
      this.set(sources.attendance().queued);
    });
    // A gauge, not a counter: a maximum, not a count of anything. Read against the limit, it says how close a
    // flash crowd or an outage came to dropping events, which a scrape of the queue itself mostly misses.
    gauge('audience_meter_attendance_queue_high_water', 'Most attendance events waiting to be written at once since the start.', function () {
      this.set(sources.attendance().highWater);
    });
    gauge('audience_meter_attendance_queue_limit', 'Attendance events that may wait (--attendance-queue); past it they are dropped. 0 with the log off.', function () {
      this.set(sources.attendance().limit);
    });
    keptCounter('audience_meter_attendance_dropped_total', 'Attendance events dropped since the start (queue full while the database was away).', function () {
      this.reset();
      this.inc(sources.attendance().dropped);
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
