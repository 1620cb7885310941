// The primary process: owns the audience table, decides count pushes, serves the stats, notification and
// demo ports, and relays what concerns every worker. It never holds a viewer's connection.
import type { Server } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { AUTH_SECRETS_ENV, parseWorkerMessage, type CountEntry, type WorkerMessage, type WorkerReport } from '../protocol/ipc.js';
import { describeBindError, hostPort, listen, type PortName } from '../listen.js';
import { debugFor, enableAllDebug, logError, logInfo } from '../log.js';
import type { Options } from '../options.js';
import { workerPrefix } from '../protocol/connection-id.js';
import type { SessionEntry, SessionExit } from '../protocol/sessions.js';
import { AddressTable } from './address-table.js';
import { AdmissionLimits } from './admission-limits.js';
import { AudienceTable } from './audience-table.js';
import { CollectorPolicy } from './collector-policy.js';
import { createDemoServer } from './demo-server.js';
import { describeTarget, targetForWorkers } from '../attendance/attendance-options.js';
import type { AttendanceLog } from '../attendance/attendance-log.js';
import { createAttendanceLog } from '../attendance/create-attendance-log.js';
import { createAdminPort } from './admin/admin-port.js';
import { CountryDatabase, NO_COUNTRY } from '../attendance/geoip.js';
import { HISTORY_STEP_MS } from './member-history.js';
import { Drain, planDrain } from './drain.js';
import { Expulsions } from './expulsions.js';
import { Monitor } from './monitor.js';
import { collectPushes } from './notifier.js';
import type { ClusterSink } from './cluster/cluster.js';
import { createCluster } from './cluster/create-cluster.js';
import { nodeIdentity } from './cluster/node-identity.js';
import { Reloader } from './reload.js';
import { Readiness } from './readiness.js';
import { ReportAssembly } from './report-assembly.js';
import { SessionRegistry } from './session-registry.js';
import { createStatsServer } from './stats-server.js';
import { WorkerPool } from './worker-pool.js';

const debug = debugFor('primary');
const debugSessions = debugFor('sessions');
const SHUTDOWN_DEADLINE_MS = 4000;
/** How long a stop waits for the attendance log to write what it holds and every open session's exit. */
const ATTENDANCE_CLOSE_DEADLINE_MS = 5000;
/** How often readiness asks the cluster seam whether it is joined (a transport may join late, or drop out). */
const READINESS_CHECK_MS = 250;
export const OPTIONS_ENV = 'AUDIENCE_METER_OPTIONS';
/** This node's id, which workers put in every connection id. */
export const NODE_ID_ENV = 'AUDIENCE_METER_NODE_ID';

/** The start-up line of one private port: what an operator types to reach it. */
function whereListening(what: Exclude<PortName, 'public' | 'cluster group'>, server: Server): string {
  const at = hostPort(server.address());
  switch (what) {
    case 'stats':
      return `stats on ${at}`;
    case 'notification':
      return `admin on http://${at}/admin`;
    case 'demo':
      return `demo on http://${at}/`;
  }
}

function sourceOf(workerId: number): string {
  return `worker:${workerId}`;
}

export function startPrimary(options: Options): void {
  process.title = 'audience-meter: primary';
  // The primary's live data is small (a record per namespace, a few per connection), but a flood makes it
  // allocate fast for a while, and V8 then grows its young generation from 2 to 32 MB; it gives that back only
  // at a collection under a low allocation rate, which an idle primary does not run for minutes, so every
  // flood left it 40 MB larger (BENCHMARKS.md, namespace floods). Young-generation collections stay cheap
  // at this size, as little of what the primary allocates survives one. Set here, not inherited: the workers,
  // which carry the viewers, keep V8's defaults.
  setFlagsFromString('--semi-space-growth-factor=1');
  // And what a burst leaves in the old generation goes once the primary is idle (collector-policy.ts).
  const collector = new CollectorPolicy();
  collector.start();
  if (options.debug) enableAllDebug();

  const table = new AudienceTable();
  // Assigned right below: the registry reads the cluster's user keys, the cluster reads the registry's sessions.
  let cluster: ReturnType<typeof createCluster>;
  const sessions = new SessionRegistry(options.maxDevices, (ns, user) => cluster.userKey(ns, user), () => !cluster.decidesDeviceLimit());
  const limits = new AdmissionLimits(options.maxNamespaces, options.maxConnsPerIp);
  const addresses = new AddressTable((ip, open) => limits.address(ip, open, Date.now()));
  const nodeId = nodeIdentity(options.host, options.port).id;
  const servers: Server[] = [];
  const timers: NodeJS.Timeout[] = [];
  let listeningWorkers = 0;
  let stopping = false;
  let attendance: AttendanceLog;
  let geoip: CountryDatabase | undefined;
  try {
    // One database for the live feed and the log, so a SIGHUP reload reaches both.
    geoip = options.geoipDb ? new CountryDatabase(options.geoipDb) : undefined;
    attendance = createAttendanceLog({ ...options, country: geoip?.lookup }, nodeIdentity(options.host, options.port).id);
  } catch (error) {
    logError((error as Error).message);
    process.exit(1);
  }

  // Workers need no admin or cluster secret: keep them out of their environment (and of /proc/<pid>/environ).
  // They do keep --auth-secret: each worker verifies its viewers' tokens itself.
  const workerOptions: Options = { ...options, adminToken: undefined, clusterSecret: undefined, attendance: targetForWorkers(options.attendance) };
  const workerEnv: Record<string, string> = { [OPTIONS_ENV]: JSON.stringify(workerOptions), [NODE_ID_ENV]: nodeIdentity(options.host, options.port).id };
  const reportAssembly = new ReportAssembly();
  const pool = new WorkerPool(options.workers, workerEnv, {
    message(workerId, raw) {
      const message = parseWorkerMessage(raw);
      if (!message) return debug('dropped a malformed message from worker %d', workerId);
      onWorkerMessage(workerId, message);
    },
    exit(workerId) {
      // What it sent of a report in parts before it died is acted on first, as a whole report would have been.
      const partial = reportAssembly.takePartial(workerId);
      if (partial) onReport(workerId, partial);
      const now = Date.now();
      table.dropSource(sourceOf(workerId), now);
      shareOthersCounts();
      // Its streams died with it. The attendance log closes their rows as crash in the database, after what
      // the worker reported; while stopping, the log's close ends every session still open as shutdown.
      sessions.dropWorker(workerId);
      addresses.dropWorker(workerId);
      shareLimits();
      if (!stopping) attendance.workerGone(workerPrefix(nodeId, workerId), now);
      debugSessions('worker %d gone: its open sessions end as %s', workerId, stopping ? 'shutdown' : 'crash');
      shareSessionChanges();
      monitor.workerGone(workerId);
      expulsions.workerGone(workerId);
    },
    crashLoop() {
      void shutdown(1);
    },
  });

  const reloader = new Reloader(options, geoip, (secrets) => {
    // Workers forked later (a respawn) read them from their environment; the running ones get a message.
    workerEnv[AUTH_SECRETS_ENV] = JSON.stringify(secrets);
    pool.broadcast({ type: 'auth-secrets', secrets });
  });

  const monitor = new Monitor({
    table,
    country: geoip?.lookup ?? NO_COUNTRY,
    ipStorage: options.ipStorage,
    cluster: () => cluster.describe(),
    joined: () => cluster.isJoined(),
    attendance: () => attendance.status(),
    workers: () => pool.ids(),
    broadcast: (message) => pool.broadcast(message),
    perWorker: () => new Map(pool.ids().map((id) => [id, table.membersOf(sourceOf(id))])),
    workerSlots: () => pool.slots(),
    workerCount: options.workers,
    namespaceLimit: options.metricsNamespaces,
    node: nodeIdentity(options.host, options.port).id,
    send: (workerId, message) => pool.send(workerId, message),
  });
  const expulsions = new Expulsions({ ids: () => pool.ids(), send: (workerId, message) => pool.send(workerId, message) });

  const fromNodes: ClusterSink = {
    counts(peer, entries) {
      const now = Date.now();
      for (const [ns, members, connections] of entries) table.setPeerCounts(peer, ns, members, connections, now);
      shareOthersCounts();
      shareLimits();
    },
    gone(peer) {
      table.dropSource(peer, Date.now());
      shareOthersCounts();
      sessions.dropPeer(peer);
    },
    notification: (ns, data) => pool.broadcast({ type: 'notify', ns, data }),
    exclusions: (exclusions) => pool.broadcast({ type: 'exclude', exclusions }),
    // Another node's new session may put one of this node's beyond the device limit.
    sessions: (peer, open, ended) => expelOwn(sessions.applyPeer(peer, open, ended)),
    expelled(expelled) {
      for (const session of expelled) debugSessions('expelled elsewhere %s', session);
      expulsions.note([...expelled]);
    },
    // The cluster decided (Redis): it has told the other nodes already, so nothing is published again.
    expel(decided) {
      const expel = sessions.expelDecided(decided);
      if (expel.length === 0) return;
      debug('device limit (decided by the cluster): expelling %d session(s)', expel.length);
      void expulsions.expel(expel);
    },
  };
  cluster = createCluster(options, { counts: () => table.localCounts(), countChanges: () => table.takeLocalChanges(), sessions: () => sessions.advertised() }, fromNodes);
  const readiness = new Readiness(() => cluster.isJoined(), (message) => pool.broadcast(message));
  const drain = new Drain(planDrain(options.drainSeconds), {
    unready: () => readiness.drain(),
    broadcast: (message) => pool.broadcast(message),
    stop: () => void shutdown(0),
  });

  function onWorkerMessage(workerId: number, message: WorkerMessage): void {
    switch (message.type) {
      case 'report': {
        collector.busy();
        const report = reportAssembly.add(workerId, message);
        if (report) onReport(workerId, report);
        return;
      }
      case 'delivered':
        monitor.delivered(workerId, message.id, message.count);
        return;
      case 'listed':
        monitor.listing.listed(workerId, message.id, message.connections, message.matched);
        return;
      case 'noted':
        expulsions.noted(workerId, message.id);
        return;
      case 'listening':
        // A worker that (re)starts learns what /readyz answers now, and joins a drain under way.
        pool.send(workerId, readiness.current());
        const drainUnderWay = drain.message();
        if (drainUnderWay) pool.send(workerId, drainUnderWay);
        pool.send(workerId, limits.current());
        pool.send(workerId, monitor.feedState());
        if (++listeningWorkers === options.workers) {
          attendance.start();
          readiness.listen();
          logInfo(`listening on http://${message.address} with ${options.workers} worker${options.workers === 1 ? '' : 's'}`);
        }
        return;
      case 'listen-failed':
        logError(describeBindError('public', message.port, message.code));
        void shutdown(1);
        return;
    }
  }

  /** A worker's report, whole (report-assembly.ts puts a large one's parts together first). */
  function onReport(workerId: number, report: WorkerReport): void {
    const now = Date.now();
    for (const [ns, members, joined] of report.entries) {
      table.setMembers(sourceOf(workerId), ns, members, now);
      table.addConnections(ns, joined, now);
    }
    shareOthersCounts();
    if (report.entered.length > 0 || report.exited.length > 0) onSessionEvents(workerId, report.entered, report.exited);
    if (report.feed) monitor.feedEvents(report.feed);
    if (report.addresses) addresses.set(workerId, report.addresses);
    if (report.exclusions.length > 0) {
      pool.broadcast({ type: 'exclude', exclusions: report.exclusions }, workerId);
      cluster.publishExclusions(report.exclusions);
    }
    shareLimits();
  }

  /** The registry first (it may expel sessions), then the other nodes, then the attendance log. */
  function onSessionEvents(workerId: number, entered: SessionEntry[], exited: SessionExit[]): void {
    expelOwn(sessions.apply(workerId, entered, exited));
    shareSessionChanges();
    recordSessionEvents(entered, exited);
  }

  /** This node's sessions beyond the device limit (whichever node's new session put them there). */
  function expelOwn(expel: string[]): void {
    if (expel.length === 0) return;
    debug('device limit: expelling %d session(s)', expel.length);
    void expulsions.expel(expel);
    // Its browser may reconnect to another node (behind a load balancer), which must answer 204 too.
    cluster.publishExpelled(expel);
  }

  /** Identified sessions that opened or ended here, told to the other nodes now rather than at the next round. */
  function shareSessionChanges(): void {
    const changes = sessions.takeChanges();
    if (changes.length > 0) cluster.publishSessions(changes);
  }

  /** Every session entry and exit the workers report ends up here. */
  function recordSessionEvents(entered: SessionEntry[], exited: SessionExit[]): void {
    // One debug line per event: what the tests read to see exit reasons reach the primary. Checked first: a
    // disabled debug call still allocates its arguments, per event, which a flood turns into old-space garbage.
    if (debugSessions.enabled) {
      for (const e of entered) debugSessions('entry %s ns=%s user=%s', e.session, e.ns, e.user ?? '-');
      for (const e of exited) debugSessions('exit %s reason=%s', e.session, e.reason);
    }
    monitor.sessions(entered, exited);
    attendanceLogHook(entered, exited);
  }

  function attendanceLogHook(entered: SessionEntry[], exited: SessionExit[]): void {
    attendance.record(entered, exited);
  }

  /**
   * The table itself is the sample, read in place (NamespaceRecords.forEach): a list of every namespace's
   * count, built every few seconds, would outlive a young-generation collection and be promoted, so each
   * sample of a large table left megabytes of old-space garbage that an idle primary then keeps
   * (BENCHMARKS.md, namespace floods). The chart's samples (below) read it the same way.
   */
  function sampleMembers(): void {
    attendance.sample(table.namespaces, Date.now());
  }

  /**
   * Tells each worker what the other sources hold, so a new viewer's first count is the true one. Called
   * after each report (one per worker per tick) and each peer datagram that changed a count, rather than on
   * a timer of its own, so it is never staler than the stats port.
   */
  function shareOthersCounts(): void {
    const changed = table.takeChanged();
    if (changed.size === 0) return;
    for (const workerId of pool.ids()) {
      const entries: CountEntry[] = [];
      for (const ns of changed) entries.push([ns, table.othersMembers(ns, sourceOf(workerId))]);
      pool.send(workerId, { type: 'others', entries });
    }
  }

  /** The limits' verdict, to every worker when it changed (after each report, peer round and sweep). */
  function shareLimits(): void {
    limits.namespaces(table.namespaces.size, Date.now());
    const change = limits.takeChange();
    if (change) pool.broadcast(change);
  }

  function pushCounts(): void {
    const now = Date.now();
    const pushes = collectPushes(table.namespaces, now, {
      deltaRatio: options.notifyDeltaRatio,
      maxDelay: options.notifyMaxDelay * 1000,
    });
    table.pushed(pushes, now);
    if (pushes.length > 0) {
      debug('pushing %d namespace counts', pushes.length);
      pool.broadcast({ type: 'push', entries: pushes });
    }
  }

  function sweepNamespaces(): void {
    const deleted = table.sweep(Date.now(), options.namespaceCleanDelay * 1000);
    if (debug.enabled) for (const ns of deleted) debug('deleted empty namespace %s', ns);
    shareLimits();
  }

  async function startServers(): Promise<void> {
    await cluster.start();
    const wanted: [Exclude<PortName, 'public' | 'cluster group'>, Server, number, string | undefined][] = [];
    if (options.statsPort !== 0) wanted.push(['stats', createStatsServer(() => table.stats((ns) => sessions.users(ns))), options.statsPort, options.statsHost]);
    if (options.notificationPort !== 0) {
      const server = createAdminPort({
        adminToken: options.adminToken,
        boundHost: options.notificationHost,
        adminHosts: options.adminHosts,
        reports: attendance.reports,
        notify: (ns, data) => {
          const refused = cluster.publishNotification(ns, data);
          if (refused === undefined) {
            pool.broadcast({ type: 'notify', ns, data });
            monitor.metrics.message('notification');
          }
          return refused;
        },
        table,
        usersIn: (ns) => sessions.users(ns),
        monitor,
        cluster,
      });
      wanted.push(['notification', server, options.notificationPort, options.notificationHost]);
    }
    if (options.demoPort !== 0) wanted.push(['demo', createDemoServer(options.port), options.demoPort, options.demoHost]);
    for (const [what, server, port, host] of wanted) {
      await listen(server, what, port, host);
      servers.push(server);
      logInfo(whereListening(what, server));
    }
    logInfo(`attendance log: ${describeTarget(options.attendance)}`);
  }

  async function shutdown(exitCode: number): Promise<void> {
    if (stopping) return;
    stopping = true;
    debug('shutting down');
    drain.cancel();
    for (const timer of timers) clearInterval(timer);
    for (const server of servers) server.close();
    monitor.close();
    // The goodbye first: peers drop this node's counts at once instead of watching them fall as streams end.
    await cluster.stop();
    await pool.stop(SHUTDOWN_DEADLINE_MS);
    // After the workers: their last exits are in; whatever is still open ends now as `shutdown`.
    await attendance.close(Date.now(), ATTENDANCE_CLOSE_DEADLINE_MS);
    process.exit(exitCode);
  }

  // A reload, never a stop (docs/signals.md): a closed terminal or a log rotation's kill -HUP included.
  process.on('SIGHUP', () => { if (!stopping) logInfo(reloader.reload(Date.now())); });
  /** SIGTERM and SIGINT alike: a drain with --drain-seconds, unless one runs already (then at once). */
  function onStopSignal(signal: NodeJS.Signals): void {
    if (drain.running) {
      if (!stopping) logInfo(`${signal} again: stopping now`);
      return drain.finish();
    }
    // Nothing to drain before every worker listens, or once stopping.
    if (options.drainSeconds === 0 || listeningWorkers < options.workers || stopping) return void shutdown(0);
    logInfo(`${signal}: draining for ${options.drainSeconds} s (/readyz answers 503, streams end over the window); ${signal} again stops now`);
    drain.start();
  }

  process.on('SIGTERM', onStopSignal);
  process.on('SIGINT', onStopSignal);

  startServers().then(
    () => {
      pool.start();
      timers.push(setInterval(pushCounts, options.notifyMinDelay * 1000));
      timers.push(setInterval(sweepNamespaces, 1000));
      timers.push(setInterval(() => readiness.check(), READINESS_CHECK_MS));
      timers.push(setInterval(sampleMembers, options.sampleInterval * 1000));
      // The admin page's chart without the attendance log.
      if (!attendance.reports) timers.push(setInterval(() => monitor.history.sample(table.namespaces, Date.now()), HISTORY_STEP_MS));
    },
    (error: Error) => {
      logError(error.message);
      void shutdown(1);
    },
  );
}
