// A worker process: holds viewers' streams on the shared public port and reports its absolute counts to
// the primary once per tick. It exits when told to, or when the primary is gone.
import cluster from 'node:cluster';
import { AUTH_SECRETS_ENV, authSecretsFromEnv, parsePrimaryMessage, type PrimaryMessage, type WorkerMessage, type WorkerReport } from '../protocol/ipc.js';
import { debugFor, enableAllDebug, logError } from '../log.js';
import { hostPort } from '../listen.js';
import { ACCEPTS_PER_CHECK, OpenFileWatch } from './fd-watch.js';
import { openFileLimit } from '../open-file-limit.js';
import type { Options } from '../options.js';
import { AddressCounts } from './address-counts.js';
import { ConnectionListing } from './connection-listing.js';
import { deliver } from './delivery.js';
import { StreamDrain } from './drain.js';
import { Hub } from './hub.js';
import { Lifetimes } from './lifetimes.js';
import { IdentityVerifier } from '../attendance/identity.js';
import { compileProxyTrust } from '../attendance/client-ip.js';
import { Gate } from './admission.js';
import { Limits } from './limits.js';
import { createPublicListener } from './public-listener.js';
import { createHttpFallback } from './public-server.js';
import { Probes } from './probes.js';
import { ReportChannel } from './report-channel.js';
import { reportParts } from './report-parts.js';
import { ConnectionIds } from './session-ids.js';
import { Sessions } from './sessions.js';
import { createStreams } from './streams.js';
import { countPush, notificationPush } from './push.js';
import { UuidRegistry } from './uuid-registry.js';
import { ViewerDirectory } from './viewer-directory.js';
import { createWsViewers } from './ws-viewers.js';

const TICK_MS = 100;
const OPEN_FILES_CHECK_MS = 1000;
const LISTEN_BACKLOG = 4096;
const STOP_DEADLINE_MS = 2000;
const debug = debugFor('worker');

const options = JSON.parse(process.env.AUDIENCE_METER_OPTIONS ?? '{}') as Options;
const workerId = cluster.worker?.id ?? 0;
process.title = 'audience-meter: worker';
if (options.debug) enableAllDebug();

const hub = new Hub();
const lifetimes = new Lifetimes(hub, options.incrementDelay * 1000, options.maxConnDuration * 1000);
const uuids = new UuidRegistry(workerId);
// The node id (from the primary) goes into every connection id, so they are unique across nodes.
const connectionIds = new ConnectionIds(process.env.AUDIENCE_METER_NODE_ID ?? 'node', workerId);
// A session's page, device and address are read by the attendance log and the admin port's listing only.
const recordFacts = options.attendance.kind !== 'off' || options.notificationPort !== 0;
// The admin port's listing and feed ask the workers, which keep each open connection's facts for them.
const listing = options.notificationPort !== 0 ? new ConnectionListing(connectionIds) : undefined;
const addresses = options.maxConnsPerIp > 0 ? new AddressCounts() : undefined;
const sessions = new Sessions(connectionIds, options.maxDevices > 0, recordFacts, { listing, addresses });
const directory = new ViewerDirectory(connectionIds);
// The auth secret is the one secret a worker holds: it verifies viewers' tokens itself. A worker forked
// after a SIGHUP rotated it finds the current and previous ones in its environment.
const verifier = new IdentityVerifier(options.authSecret, options.requireAuth);
const reloadedSecrets = authSecretsFromEnv(process.env[AUTH_SECRETS_ENV]);
if (reloadedSecrets) verifier.setSecrets(reloadedSecrets);
const limits = new Limits((ns) => hub.isLive(ns), addresses && { maxConnsPerIp: options.maxConnsPerIp, own: addresses });
const gate = new Gate(verifier, sessions, compileProxyTrust(options.trustProxy), limits, options.maxConnsPerIp > 0);
const streams = createStreams(hub, lifetimes, uuids, sessions, directory);
const probes = new Probes();
const drain = new StreamDrain(hub);
const fallback = createHttpFallback({ streams, uuids, enableUuid: options.enableUuid, gate, probes });
// WebSocket upgrades are served on the raw socket, whether the fast path read their head or node:http did.
const wsViewers = createWsViewers({ hub, streams, gate, directory, enableUuid: options.enableUuid, pingIntervalMs: options.wsPingInterval * 1000 });
fallback.on('upgrade', wsViewers.onUpgrade);
const listener = createPublicListener({ streams, wsViewers, fallback, enableUuid: options.enableUuid, gate, probes });
const server = listener.server;
let stopping = false;

function send(message: WorkerMessage, sent?: () => void): void {
  if (process.connected && process.send) process.send(message, undefined, undefined, sent);
  else sent?.();
}

/** A report in parts of bounded size (report-parts.ts), written one after another; `sent` once the last is handed over. */
function sendReport(report: WorkerReport, sent: () => void): void {
  const parts = reportParts(report);
  const last = parts.length - 1;
  for (let i = 0; i < last; i++) send(parts[i]!);
  send(parts[last]!, sent);
}

/** What changed since the last report, or undefined when nothing did. */
function takeReport(): WorkerReport | undefined {
  const entries = hub.takeReport();
  const exclusions = uuids.takeOutgoing();
  const { entered, exited } = sessions.take();
  const pages = wsViewers.takePages();
  if (pages.length > 0) listing?.pages(pages);
  const feed = listing?.takeFeed() ?? [];
  const changedAddresses = addresses?.take() ?? [];
  if (entries.length === 0 && exclusions.length === 0 && entered.length === 0 && exited.length === 0 && feed.length === 0 && changedAddresses.length === 0) return undefined;
  return {
    type: 'report', entries, exclusions, entered, exited,
    ...(feed.length > 0 ? { feed } : {}), ...(changedAddresses.length > 0 ? { addresses: changedAddresses } : {}),
  };
}

// One report on its way at a time: a primary that falls behind gets fewer, larger reports, never a queue of them.
const reports = new ReportChannel(takeReport, sendReport);

/** The last report carries the `shutdown` exits of the streams just ended: exit once it is handed over. */
function exitAfterLastReport(): void {
  reports.last(() => process.exit(0));
}

function onPrimaryMessage(message: PrimaryMessage): void {
  switch (message.type) {
    case 'others':
      hub.setOthers(message.entries);
      return;
    case 'push':
      // One frame per namespace and transport, written as is to each of its viewers.
      for (const [ns, members] of message.entries) hub.broadcast(ns, countPush(members));
      return;
    case 'notify':
      hub.broadcast(message.ns, notificationPush(message.data));
      return;
    case 'exclude':
      uuids.applyRemote(message.exclusions);
      return;
    case 'limits':
      limits.update(message.namespacesFull, message.fullAddresses);
      return;
    case 'note-expelled':
      sessions.noteExpelled(message.sessions, Date.now());
      if (message.id !== 0) send({ type: 'noted', id: message.id });
      return;
    case 'expel':
      sessions.expel(message.sessions, Date.now());
      return;
    case 'deliver':
      send({ type: 'delivered', id: message.id, count: deliver(hub, directory, message.target, message.event, message.data) });
      return;
    case 'list': {
      const page = listing?.list(message.ns, message.user, message.from, message.limit) ?? { connections: [], matched: 0 };
      send({ type: 'listed', id: message.id, ...page });
      return;
    }
    case 'feed':
      listing?.setFeed(message.on);
      return;
    case 'auth-secrets':
      verifier.setSecrets(message.secrets);
      debug('worker %d: auth secrets replaced', workerId);
      return;
    case 'readiness':
      probes.setReadiness(message.ready, message.reason);
      return;
    case 'drain':
      drain.start(message.ms, message.retryMs);
      return;
    case 'shutdown':
      stop();
      return;
  }
}

function stop(): void {
  if (stopping) return;
  stopping = true;
  clearInterval(reportTimer);
  lifetimes.stop();
  drain.stop();
  listener.stop();
  wsViewers.stop();
  // The listener's close callback runs once every connection it accepted is gone.
  server.close(exitAfterLastReport);
  hub.endAll();
  // Plain requests leave idle keep-alive sockets in node:http; close them once the stream ends are written.
  setTimeout(() => fallback.closeAllConnections(), 100).unref();
  setTimeout(exitAfterLastReport, STOP_DEADLINE_MS).unref();
}

process.on('message', (raw: unknown) => {
  const message = parsePrimaryMessage(raw);
  if (message) onPrimaryMessage(message);
  else debug('dropped a malformed message from the primary');
});
// The primary orchestrates shutdown; a Ctrl-C reaching the whole process group, or a SIGTERM to the whole
// control group (systemd), must not cut streams first, nor a drain short.
process.on('SIGINT', () => {});
// SIGHUP is the primary's reload (it sends what changed); a closed terminal sends it to every process.
process.on('SIGHUP', () => debug('worker %d: SIGHUP left to the primary', workerId));
process.on('SIGTERM', () => {});
process.on('disconnect', stop);

const reportTimer = setInterval(() => reports.tick(), TICK_MS);
lifetimes.start();
let listening = false;
server.on('error', (error: NodeJS.ErrnoException) => {
  // Once listening, an error is about one connection (EMFILE on accept, say) or a listen again after a pause
  // (the port taken meanwhile: tried again a check later): log it and keep serving.
  if (!listening) {
    send({ type: 'listen-failed', code: error.code ?? 'unknown', port: options.port });
    return;
  }
  logError(`public port: ${error.message}`);
  if (!server.listening && openFiles.accepting) setTimeout(() => { if (!stopping && !server.listening) listen(); }, OPEN_FILES_CHECK_MS).unref();
});
// A flash crowd arrives faster than accept() runs; with node's default backlog of 511 the kernel drops
// SYNs and browsers retry a whole second later. The kernel caps this at net.core.somaxconn.
function listen(): void {
  server.listen({ port: options.port, host: options.host, backlog: LISTEN_BACKLOG }, () => {
    if (listening) return;
    listening = true;
    const where = hostPort(server.address());
    debug('worker %d listening on %s', workerId, where);
    send({ type: 'listening', address: where });
  });
}
const openFiles = new OpenFileWatch(workerId, openFileLimit(), {
  // Closing the listening socket stops accepting only: the connections it accepted stay open, and stop()'s
  // close still waits for the last of them.
  pause: () => server.close(),
  resume: () => { if (!stopping) listen(); },
});
const checkOpenFiles = (): void => {
  server.getConnections((error, count) => { if (!error) openFiles.check(count); });
};
setInterval(checkOpenFiles, OPEN_FILES_CHECK_MS).unref();
let acceptedSinceCheck = 0;
server.on('connection', () => {
  if (++acceptedSinceCheck < ACCEPTS_PER_CHECK) return;
  acceptedSinceCheck = 0;
  checkOpenFiles();
});
listen();
