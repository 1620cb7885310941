// The daemon's settings: their types, defaults and the checks that turn a bad value into one clear line.
// Parsers throw InvalidOptionValue; the CLI turns that into exit status 2.
import { readFileSync } from 'node:fs';
import proxyAddr from 'proxy-addr';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import type { AttendanceTarget, IpStorage } from './attendance/attendance-options.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface Options {
  debug: boolean;
  workers: number;
  port: number;
  /** Undefined: every interface, as 2.x did. */
  host: string | undefined;
  clusterAddr: HostPort | undefined;
  /** Local address that joins the cluster group and sends to it; undefined lets the system choose. */
  clusterInterface: string | undefined;
  clusterTtl: number;
  /** Key of the HMAC-SHA256 tag on every peer datagram; undefined sends and accepts them unsigned. */
  clusterSecret: string | undefined;
  /** redis:// or rediss:// URL of the Redis that carries the cluster instead of multicast. */
  redis: string | undefined;
  /** Starts every key and channel of this cluster in Redis, so several clusters can share one server. */
  redisPrefix: string;
  /** --redis names a node of a Redis Cluster (the client follows its redirects). */
  redisCluster: boolean;
  maxConnDuration: number;
  /** Seconds a SIGTERM takes to move viewers to other nodes before stopping (docs/load-balancers.md); 0: stop at once. */
  drainSeconds: number;
  enableUuid: boolean;
  clusterNotifyInterval: number;
  clusterNodeTimeout: number;
  notifyDeltaRatio: number;
  notifyMinDelay: number;
  notifyMaxDelay: number;
  incrementDelay: number;
  namespaceCleanDelay: number;
  demoPort: number;
  demoHost: string | undefined;
  statsPort: number;
  statsHost: string;
  notificationPort: number;
  notificationHost: string;
  /** Namespaces with series of their own in /metrics, the busiest first; 0: none. */
  metricsNamespaces: number;
  adminToken: string | undefined;
  /** Host names, besides loopback names and addresses, by which operators reach the admin port. */
  adminHosts: string[];
  /** Key that verifies viewers' identity tokens (JWT HS256). Workers get it: they verify tokens. */
  authSecret: string | undefined;
  /** Where authSecret was read from (--auth-secret-file): read again on SIGHUP. */
  authSecretFile: string | undefined;
  /** Seconds the previous secret is still accepted after a SIGHUP rotated it. */
  authSecretGrace: number;
  /** Refuse viewers without a valid token. */
  requireAuth: boolean;
  /** Sessions one user may hold per namespace, across workers and nodes; 0: no limit. */
  maxDevices: number;
  /** Namespaces the audience table may hold (empty ones awaiting the clean delay included); new ones get 503 past it. */
  maxNamespaces: number;
  /** Open streams one client address may hold on this node; 0: no limit. */
  maxConnsPerIp: number;
  /**
   * The proxies whose X-Forwarded-For is believed (proxy-addr's forms: `loopback`, addresses, CIDR ranges);
   * the client is the right-most address not in this list. Empty: the header is ignored.
   */
  trustProxy: string[];
  /** Where the primary writes sessions and samples: SQLite file, PostgreSQL URL, or off. */
  attendance: AttendanceTarget;
  /** How much of a viewer's address the log keeps. */
  ipStorage: IpStorage;
  /** A MaxMind DB file (.mmdb) giving each session's country; undefined: no country. */
  geoipDb: string | undefined;
  /** Closed sessions and samples older than this many days are deleted from the log; 0 keeps them forever. */
  retentionDays: number;
  /** Seconds between two heartbeats of this run in the log; a run silent for three of them is given up as crashed. */
  attendanceHeartbeat: number;
  /** Events the log may hold while the database is slow or away; 0: sized from the node (queue-bound.ts). */
  attendanceQueue: number;
  /** Seconds between two stored member counts of every namespace. */
  sampleInterval: number;
  /** Seconds between two pings of every WebSocket viewer; one that did not answer the last is ended. */
  wsPingInterval: number;
}

/** Every duration is in seconds, as on the 2.x command line. */
export const defaults: Options = {
  debug: false,
  workers: availableParallelism(),
  port: 80,
  host: undefined,
  clusterAddr: undefined,
  clusterInterface: undefined,
  clusterTtl: 1,
  clusterSecret: undefined,
  redis: undefined,
  redisPrefix: 'audience-meter:',
  redisCluster: false,
  maxConnDuration: 3600,
  drainSeconds: 0,
  enableUuid: false,
  clusterNotifyInterval: 2,
  clusterNodeTimeout: 5,
  notifyDeltaRatio: 0.1,
  notifyMinDelay: 2,
  notifyMaxDelay: 25,
  incrementDelay: 0,
  namespaceCleanDelay: 60,
  demoPort: 8080,
  demoHost: undefined,
  statsPort: 1442,
  statsHost: '127.0.0.1',
  notificationPort: 2442,
  notificationHost: '127.0.0.1',
  metricsNamespaces: 100,
  adminToken: undefined,
  adminHosts: [],
  authSecret: undefined,
  authSecretFile: undefined,
  authSecretGrace: 3600,
  requireAuth: false,
  maxDevices: 0,
  maxNamespaces: 100_000,
  maxConnsPerIp: 0,
  trustProxy: [],
  attendance: { kind: 'sqlite', path: './audience-meter.db' },
  ipStorage: 'truncated',
  geoipDb: undefined,
  retentionDays: 365,
  attendanceHeartbeat: 30,
  attendanceQueue: 0,
  sampleInterval: 10,
  wsPingInterval: 30,
};

export class InvalidOptionValue extends Error {}

export function parseWorkerCount(value: string): number {
  return parseInteger(value, 1, 1024, 'must be a whole number from 1 to 1024');
}

export function parsePort(value: string): number {
  return parseInteger(value, 0, 65535, 'must be a port number from 0 to 65535');
}

/** A number of seconds: zero or more, fractions allowed so tests and small sites can use short delays. */
export function parseSeconds(value: string): number {
  const n = parseNumber(value);
  if (n < 0 || n > 31_536_000) throw new InvalidOptionValue('must be a number of seconds, 0 or more');
  return n;
}

/** A delay used as a timer period: zero would spin, so it must be positive. */
export function parsePeriod(value: string): number {
  const n = parseSeconds(value);
  if (n < 0.01) throw new InvalidOptionValue('must be a number of seconds, at least 0.01');
  return n;
}

export function parseRatio(value: string): number {
  const n = parseNumber(value);
  if (n < 0 || n > 1) throw new InvalidOptionValue('must be a ratio from 0 to 1');
  return n;
}

export function parseHost(value: string): string {
  if (!/^[A-Za-z0-9.:\-[\]]{1,253}$/.test(value)) throw new InvalidOptionValue('must be an IP address or a host name');
  return value.replace(/^\[(.*)\]$/, '$1');
}

/** `ip:port`, as `-m 239.255.13.37:314`; IPv6 in brackets. */
export function parseHostPort(value: string): HostPort {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(value);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!host || isIP(host) === 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidOptionValue('must be IP:PORT, e.g. 239.255.13.37:314');
  }
  return { host, port };
}

/** -m: a multicast group, IPv4 224.0.0.0/4 or IPv6 ff00::/8. */
export function parseClusterAddr(value: string): HostPort {
  const address = parseHostPort(value);
  if (!/^(22[4-9]|23\d)\./.test(address.host) && !/^ff/i.test(address.host)) {
    throw new InvalidOptionValue('must be a multicast group IP:PORT (224.0.0.0 to 239.255.255.255), e.g. 239.255.13.37:314');
  }
  return address;
}

/** --cluster-interface: an address of this host, not a name, as the socket API wants. */
export function parseInterfaceAddress(value: string): string {
  if (isIP(value) === 0) throw new InvalidOptionValue('must be the IP address of a local interface, e.g. 10.0.0.5');
  return value;
}

export function parseTtl(value: string): number {
  return parseInteger(value, 0, 255, 'must be a whole number from 0 to 255');
}

export function parseSecret(value: string): string {
  if (value.length < 16) throw new InvalidOptionValue('must be at least 16 characters');
  return value;
}

export function parseToken(value: string): string {
  parseSecret(value);
  // A bearer token travels in one header word: whitespace would make it impossible to send.
  if (/[^\x21-\x7e]/.test(value)) throw new InvalidOptionValue('must be printable ASCII without spaces');
  return value;
}

export function parseMetricsNamespaces(value: string): number {
  return parseInteger(value, 0, 100_000, 'must be a whole number from 0 to 100000');
}

export function parseMaxDevices(value: string): number {
  return parseInteger(value, 0, 1000, 'must be a whole number from 0 (no limit) to 1000');
}

export function parseMaxNamespaces(value: string): number {
  return parseInteger(value, 1, 10_000_000, 'must be a whole number from 1 to 10000000');
}

export function parseMaxConnsPerIp(value: string): number {
  return parseInteger(value, 0, 1_000_000, 'must be a whole number from 0 (no limit) to 1000000');
}

/** --auth-secret-file: the secret is the file's content, a trailing line break dropped. */
/** --redis: a redis:// or rediss:// URL (user and password allowed, a database number as its path). */
export function parseRedisUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidOptionValue('must be a URL such as redis://host:6379/0 or rediss://user:password@host:6380');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new InvalidOptionValue('must start with redis:// or rediss://');
  if (url.hostname === '') throw new InvalidOptionValue('must name a host');
  if (!/^(\/\d{0,5})?$/.test(url.pathname)) throw new InvalidOptionValue('may only have a database number as its path, e.g. /0');
  return value;
}

/** --redis-prefix: printable, without spaces, so every key and channel name stays readable in redis-cli. */
export function parseRedisPrefix(value: string): string {
  if (!/^[\x21-\x7e]{1,64}$/.test(value)) throw new InvalidOptionValue('must be 1 to 64 printable characters without spaces');
  return value;
}

export function parseSecretFile(path: string): string {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    throw new InvalidOptionValue(`cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseSecret(content.replace(/\r?\n$/, ''));
}

/** --trust-proxy: proxy-addr's list, checked now so a typo is exit status 2 rather than a worker crash. */
export function parseTrustedProxies(value: string): string[] {
  const list = value.split(',').map((item) => item.trim()).filter((item) => item !== '');
  if (list.length === 0) throw new InvalidOptionValue('must be loopback, linklocal, uniquelocal, addresses or CIDR ranges, comma-separated');
  try {
    proxyAddr.compile(list);
  } catch (error) {
    throw new InvalidOptionValue(`${(error as Error).message}: expected loopback, linklocal, uniquelocal, addresses or CIDR ranges, comma-separated`);
  }
  return list;
}

/** --admin-hosts: host names (no port), comma-separated, compared without case. */
export function parseHostNames(value: string): string[] {
  const list = value.split(',').map((item) => item.trim().toLowerCase()).filter((item) => item !== '');
  if (list.length === 0 || !list.every((name) => /^[a-z0-9.-]{1,253}$/.test(name))) throw new InvalidOptionValue('must be host names without ports, comma-separated, e.g. admin.example.org');
  return list;
}

function parseInteger(value: string, min: number, max: number, reason: string): number {
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidOptionValue(reason);
  return n;
}

function parseNumber(value: string): number {
  const trimmed = value.trim();
  const n = trimmed === '' ? NaN : Number(trimmed);
  if (!Number.isFinite(n)) throw new InvalidOptionValue('must be a number');
  return n;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Checks that involve several options; returns the one-line reason for the first problem, if any. */
export function crossCheck(options: Options): string | undefined {
  if (options.notifyMaxDelay < options.notifyMinDelay) {
    return 'option --notify-max-delay must not be smaller than --notify-min-delay';
  }
  // One lost advertisement must not make a live node look dead. Checked only in a cluster: without one both
  // options are inert, and 2.x command lines that set them oddly keep starting.
  if (options.redisCluster && !options.redis) return 'option --redis-cluster needs --redis';
  if (options.clusterAddr && options.redis) {
    return 'option --redis cannot be used with -m (--cluster-addr): choose one cluster transport';
  }
  if ((options.clusterAddr || options.redis) && options.clusterNodeTimeout < 2 * options.clusterNotifyInterval) {
    return 'option --cluster-node-timeout must be at least twice --cluster-notify-interval';
  }
  // Without a secret no viewer can be identified: both options would silently do nothing.
  if (!options.authSecret) {
    if (options.requireAuth) return 'option --require-auth needs --auth-secret (or --auth-secret-file)';
    if (options.maxDevices > 0) return 'option --max-devices needs --auth-secret (or --auth-secret-file): only identified users have devices';
  }
  if (!options.adminToken) {
    if (options.statsPort !== 0 && !isLoopback(options.statsHost)) {
      return `option --stats-host ${options.statsHost} is not a loopback address: set --admin-token to expose it`;
    }
    if (options.notificationPort !== 0 && !isLoopback(options.notificationHost)) {
      return `option --notification-host ${options.notificationHost} is not a loopback address: set --admin-token to expose it`;
    }
  }
  return undefined;
}
