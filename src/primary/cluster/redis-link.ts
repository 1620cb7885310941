// The Redis clients of the cluster transport, configured on purpose: every wait bounded (connection and
// command timeouts), no offline queue (a command while Redis is away fails at once instead of piling up:
// the node re-asserts its whole state when Redis is back, so nothing queued would be worth sending), and
// reconnection forever with capped exponential backoff and jitter, so nodes that lost Redis together do
// not come back in step.
import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** A client of one server, or of a Redis Cluster (--redis-cluster: it follows the cluster's redirects). */
export type RedisLink = Redis | Cluster;

const CONNECT_TIMEOUT_MS = 3000;
const COMMAND_TIMEOUT_MS = 3000;
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 5000;

const backoff = (times: number): number => Math.round(Math.min(RETRY_BASE_MS * 2 ** Math.min(times, 10), RETRY_MAX_MS) * (0.8 + 0.4 * Math.random()));

const OPTIONS: RedisOptions = {
  lazyConnect: true,
  connectTimeout: CONNECT_TIMEOUT_MS,
  commandTimeout: COMMAND_TIMEOUT_MS,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  enableReadyCheck: true,
  autoResubscribe: true,
  retryStrategy: backoff,
};

export function redisClient(url: string, connectionName: string, cluster: boolean): RedisLink {
  if (!cluster) return new Redis(url, { ...OPTIONS, connectionName });
  // The URL names one node to start from; its user, password and TLS apply to every node.
  const parsed = new URL(url);
  const redisOptions: RedisOptions = {
    ...OPTIONS,
    connectionName,
    username: decodeURIComponent(parsed.username) || undefined,
    password: decodeURIComponent(parsed.password) || undefined,
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
  return new Cluster([{ host: parsed.hostname, port: Number(parsed.port || 6379) }], {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableReadyCheck: true,
    clusterRetryStrategy: backoff,
    slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
    redisOptions,
  });
}

/** The URL as it may be shown (logs, /api/nodes): without its password. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis://(unparsable)';
  }
}
