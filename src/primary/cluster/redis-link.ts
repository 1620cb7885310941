// The Redis clients of the cluster transport, configured on purpose: every wait bounded (connection and
// command timeouts), no offline queue (a command while Redis is away fails at once instead of piling up:
// the node re-asserts its whole state when Redis is back, so nothing queued would be worth sending), and
// reconnection forever with capped exponential backoff and jitter, so nodes that lost Redis together do
// not come back in step.
import { Redis } from 'ioredis';

const CONNECT_TIMEOUT_MS = 3000;
const COMMAND_TIMEOUT_MS = 3000;
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 5000;

export function redisClient(url: string, connectionName: string): Redis {
  return new Redis(url, {
    lazyConnect: true,
    connectionName,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    enableReadyCheck: true,
    autoResubscribe: true,
    retryStrategy: (times) => Math.round(Math.min(RETRY_BASE_MS * 2 ** Math.min(times, 10), RETRY_MAX_MS) * (0.8 + 0.4 * Math.random())),
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
