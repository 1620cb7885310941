// Command line → Options, then the primary process starts (it forks the workers itself).
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import {
  InvalidOptionValue,
  crossCheck,
  defaults,
  parseClusterAddr,
  parseHost,
  parseHostNames,
  parseInterfaceAddress,
  parseMaxDevices,
  parseMetricsNamespaces,
  parseMaxNamespaces,
  parseMaxConnsPerIp,
  parsePeriod,
  parsePort,
  parseRatio,
  parseRedisPrefix,
  parseRedisUrl,
  parseSeconds,
  parseSecret,
  parseSecretFile,
  parseToken,
  parseTrustedProxies,
  parseTtl,
  parseWorkerCount,
  type Options,
} from './options.js';
import { AttendancePathError, settleAttendanceTarget } from './attendance/sqlite-path.js';
import { DEFAULT_ATTENDANCE_PATH, parseAttendanceTarget, parseAttendanceQueue, parseIpStorage, parseRetentionDays } from './attendance/attendance-options.js';
import { startPrimary } from './primary/main.js';
import { logInfo } from './log.js';

const USAGE_ERROR = 2;

/** Wraps an option parser so commander prints "option '--x <v>' argument 'y' is invalid. <reason>". */
function checked<T>(parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (error) {
      if (error instanceof InvalidOptionValue) throw new InvalidArgumentError(error.message);
      throw error;
    }
  };
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function buildProgram(): Command {
  const d = defaults;
  return new Command('audience-meter')
    .description('Counts, live, how many people watch each event and streams that number to their pages.')
    .version(version(), '-V, --version', 'output the version number')
    .helpOption('-h, --help', 'output usage information')
    .option('-d, --debug', 'log everything', false)
    .addOption(new Option('-w, --workers <num>', 'number of worker processes to spawn').default(d.workers, 'the number of CPUs').argParser(checked(parseWorkerCount)))
    .addOption(new Option('--port <port>', 'public port for viewers\' streams').env('PORT').default(d.port).argParser(checked(parsePort)))
    .addOption(new Option('--host <host>', 'public address to bind (default: every interface)').env('HOST').argParser(checked(parseHost)))
    .addOption(new Option('-m, --cluster-addr <ip:port>', 'multicast IP:PORT to sync several instances (e.g. 239.255.13.37:314)').argParser(checked(parseClusterAddr)))
    .addOption(new Option('--max-conn-duration <seconds>', 'maximum seconds a stream stays open, 0 to disable').default(d.maxConnDuration).argParser(checked(parseSeconds)))
    .addOption(new Option('--drain-seconds <seconds>', 'on SIGTERM or SIGINT, seconds to stop being ready and move viewers to other nodes before stopping (0: stop at once)').default(d.drainSeconds).argParser(checked(parseSeconds)))
    .option('--enable-uuid', 'allow /{namespace}/{uuid}: a new stream ends every other stream with the same uuid', false)
    .addOption(new Option('--cluster-notify-interval <seconds>', 'seconds between a node\'s advertisements').default(d.clusterNotifyInterval).argParser(checked(parsePeriod)))
    .addOption(new Option('--cluster-node-timeout <seconds>', 'seconds after which a silent node is forgotten').default(d.clusterNodeTimeout).argParser(checked(parsePeriod)))
    .addOption(new Option('--cluster-interface <ip>', 'local address that joins the cluster group and sends to it (default: chosen by the system)').argParser(checked(parseInterfaceAddress)))
    .addOption(new Option('--cluster-ttl <n>', 'multicast TTL of cluster datagrams (1: this network only)').default(d.clusterTtl).argParser(checked(parseTtl)))
    .addOption(new Option('--cluster-secret <secret>', 'signs cluster datagrams (HMAC-SHA256) and ignores unsigned or forged ones').env('AUDIENCE_METER_CLUSTER_SECRET').argParser(checked(parseSecret)))
    .addOption(new Option('--redis <url>', 'Redis that carries the cluster instead of multicast (redis:// or rediss://)').env('AUDIENCE_METER_REDIS_URL').argParser(checked(parseRedisUrl)))
    .addOption(new Option('--redis-prefix <prefix>', 'prefix of this cluster\'s keys and channels in Redis').default(d.redisPrefix).argParser(checked(parseRedisPrefix)))
    .option('--redis-cluster', '--redis names a node of a Redis Cluster', false)
    .addOption(new Option('--notify-delta-ratio <ratio>', 'change in members, as a fraction of the last count pushed, that triggers a push').default(d.notifyDeltaRatio).argParser(checked(parseRatio)))
    .addOption(new Option('--notify-min-delay <seconds>', 'minimum seconds between notifications').default(d.notifyMinDelay).argParser(checked(parsePeriod)))
    .addOption(new Option('--notify-max-delay <seconds>', 'seconds after which a count is pushed even below the delta').default(d.notifyMaxDelay).argParser(checked(parseSeconds)))
    .addOption(new Option('--increment-delay <seconds>', 'seconds a new viewer waits before being counted, to absorb reconnection floods').default(d.incrementDelay).argParser(checked(parseSeconds)))
    .addOption(new Option('--namespace-clean-delay <seconds>', 'seconds an empty namespace is kept before it is deleted').default(d.namespaceCleanDelay).argParser(checked(parseSeconds)))
    .addOption(new Option('--demo-port <port>', 'port of the demo pages, 0 to disable').default(d.demoPort).argParser(checked(parsePort)))
    .addOption(new Option('--demo-host <host>', 'address of the demo pages (default: every interface)').argParser(checked(parseHost)))
    .addOption(new Option('--stats-port <port>', 'local port of the JSON stats dump, 0 to disable').default(d.statsPort).argParser(checked(parsePort)))
    .addOption(new Option('--stats-host <host>', 'address of the stats port').default(d.statsHost).argParser(checked(parseHost)))
    .addOption(new Option('--notification-port <port>', 'local port of the notification (admin) server, 0 to disable').default(d.notificationPort).argParser(checked(parsePort)))
    .addOption(new Option('--notification-host <host>', 'address of the notification (admin) server').default(d.notificationHost).argParser(checked(parseHost)))
    .addOption(new Option('--admin-hosts <names>', 'host names, comma-separated, by which operators reach the admin port (loopback names and addresses and the bound address always pass)').argParser(checked(parseHostNames)))
    .addOption(new Option('--metrics-namespaces <n>', 'namespaces with series of their own in /metrics, the busiest first (0: none)').default(d.metricsNamespaces).argParser(checked(parseMetricsNamespaces)))
    .addOption(new Option('--admin-token <token>', 'bearer token required by the admin port; needed to bind stats or admin beyond loopback').env('AUDIENCE_METER_ADMIN_TOKEN').argParser(checked(parseToken)))
    .addOption(new Option('--auth-secret <secret>', 'key of the viewers\' identity tokens (JWT HS256, ?token=)').env('AUDIENCE_METER_AUTH_SECRET').argParser(checked(parseSecret)))
    .addOption(new Option('--auth-secret-file <path>', 'reads --auth-secret from this file (keeps it out of the process list); read again on SIGHUP').argParser(checked((path) => ({ path, secret: parseSecretFile(path) }))))
    .addOption(new Option('--auth-secret-grace <seconds>', 'seconds the previous secret is still accepted after a SIGHUP brought a new --auth-secret-file').default(d.authSecretGrace).argParser(checked(parseSeconds)))
    .option('--require-auth', 'refuse viewers without a valid token (401)', false)
    .addOption(new Option('--max-devices <n>', 'streams one user may hold per namespace; the oldest is expelled beyond it (0: no limit)').default(d.maxDevices).argParser(checked(parseMaxDevices)))
    .addOption(new Option('--trust-proxy [proxies]', 'believe X-Forwarded-For from these proxies (loopback, addresses, CIDR ranges, comma-separated): the client is the right-most address not among them').argParser(checked(parseTrustedProxies)))
    .addOption(new Option('--max-namespaces <n>', 'namespaces held at once (empty ones awaiting --namespace-clean-delay included); a new one gets 503 past it').default(d.maxNamespaces).argParser(checked(parseMaxNamespaces)))
    .addOption(new Option('--max-conns-per-ip <n>', 'open streams one client address may hold on this node; 503 past it (0: no limit)').default(d.maxConnsPerIp).argParser(checked(parseMaxConnsPerIp)))
    .addOption(new Option('--attendance <target>', 'attendance log: a SQLite file path, a postgres:// URL, or off').env('AUDIENCE_METER_ATTENDANCE').default(d.attendance, DEFAULT_ATTENDANCE_PATH).argParser(checked(parseAttendanceTarget)))
    .addOption(new Option('--ip-storage <mode>', 'viewer addresses in the log: full, truncated (/24 or /48) or none').default(d.ipStorage).argParser(checked(parseIpStorage)))
    .addOption(new Option('--geoip-db <file>', 'MaxMind DB file (.mmdb) giving each session\'s country (default: no country)'))
    .addOption(new Option('--retention-days <n>', 'days closed sessions and samples are kept in the attendance log, 0 to keep them forever').default(d.retentionDays).argParser(checked(parseRetentionDays)))
    .addOption(new Option('--attendance-heartbeat <seconds>', 'seconds between heartbeats of this run in the log; other nodes close its sessions as crash after three missed').default(d.attendanceHeartbeat).argParser(checked(parsePeriod)))
    .addOption(new Option('--attendance-queue <events>', 'events the attendance log holds in memory while the database is slow or away; past it they are dropped and counted (0: 2 × workers × open-file limit, at least 200000)').default(d.attendanceQueue).argParser(checked(parseAttendanceQueue)))
    .addOption(new Option('--sample-interval <seconds>', 'seconds between two stored member counts of every namespace').default(d.sampleInterval).argParser(checked(parsePeriod)))
    .addOption(new Option('--ws-ping-interval <seconds>', 'seconds between pings of WebSocket viewers; one that misses a pong is ended').default(d.wsPingInterval).argParser(checked(parsePeriod)))
    .configureHelp({ helpWidth: 120 })
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => write(`audience-meter: ${text.replace(/^error: /, '').trimEnd()}\n`),
    });
}

export function parseCommandLine(argv: string[]): Options {
  const program = buildProgram();
  try {
    program.parse(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      const done = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help';
      process.exit(done ? 0 : USAGE_ERROR);
    }
    throw error;
  }
  const { authSecretFile, trustProxy, ...given } = program.opts<Partial<Omit<Options, 'trustProxy'>> & { authSecretFile?: { path: string; secret: string }; trustProxy?: string[] | true }>();
  const options: Options = { ...defaults, ...given };
  if (trustProxy === true) {
    // 3.0 took a bare --trust-proxy; the proxies in front are almost always on this host.
    logInfo('--trust-proxy without a value means --trust-proxy loopback: write it so (or name your proxies, e.g. --trust-proxy 10.0.0.0/8)');
    options.trustProxy = ['loopback'];
  } else if (trustProxy !== undefined) {
    options.trustProxy = trustProxy;
  }
  if (authSecretFile !== undefined) {
    if (given.authSecret !== undefined) {
      process.stderr.write('audience-meter: option --auth-secret-file cannot be used with --auth-secret or AUDIENCE_METER_AUTH_SECRET\n');
      process.exit(USAGE_ERROR);
    }
    options.authSecret = authSecretFile.secret;
    options.authSecretFile = authSecretFile.path;
  }
  const problem = crossCheck(options);
  if (problem) {
    process.stderr.write(`audience-meter: ${problem}\n`);
    process.exit(USAGE_ERROR);
  }
  try {
    options.attendance = settleAttendanceTarget(options.attendance);
  } catch (error) {
    if (!(error instanceof AttendancePathError)) throw error;
    process.stderr.write(`audience-meter: ${error.message}\n`);
    process.exit(USAGE_ERROR);
  }
  return options;
}

startPrimary(parseCommandLine(process.argv));
