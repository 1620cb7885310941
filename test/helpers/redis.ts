// Redis for the cluster tests: the machine's server (127.0.0.1:6379), or AUDIENCE_METER_TEST_REDIS. Each
// scope is a key prefix of its own (which covers channels too), its keys deleted after; a test that
// flushes takes a database number of its own (FLUSHDB there, never FLUSHALL: the server is shared). Under
// CI=true an unreachable server is a failure; elsewhere the tests are skipped with the reason.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.AUDIENCE_METER_TEST_REDIS ?? 'redis://127.0.0.1:6379';
/** The database the ordinary cluster tests use (their prefixes keep them apart). */
export const TEST_DB = 9;

async function probe(): Promise<string | false> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return false;
  } catch (error) {
    return `Redis unreachable at ${REDIS_URL} (${(error as Error).message})`;
  } finally {
    client.disconnect();
  }
}

const unreachable = await probe();
if (unreachable && process.env.CI === 'true') throw new Error(`Redis is required under CI=true: ${unreachable}`);
/** Why Redis tests are skipped here, or false when they run. */
export const redisSkip: string | false = unreachable;
if (redisSkip) process.stderr.write(`# skipping Redis tests: ${redisSkip}\n`);

/** A client of the test's own on `db`. */
export function testClient(db = TEST_DB, url = REDIS_URL): Redis {
  const client = new Redis(`${url}/${db}`, { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  return client;
}

export function uniquePrefix(): string {
  return `am-test-${randomBytes(6).toString('hex')}:`;
}

/** Deletes every key under `prefix` in `db` (SCAN, not KEYS, so a large shared server is not blocked). */
export async function deleteKeys(prefix: string, db = TEST_DB, url = REDIS_URL): Promise<void> {
  const client = testClient(db, url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

export interface RedisScope {
  transport: 'redis';
  args: string[];
  url: string;
  prefix: string;
  db: number;
  cleanup(): Promise<void>;
}

export function redisScope({ db = TEST_DB, url = REDIS_URL, prefix = uniquePrefix() }: { db?: number; url?: string; prefix?: string } = {}): RedisScope {
  const nodeUrl = `${url}/${db}`;
  return { transport: 'redis', args: ['--redis', nodeUrl, '--redis-prefix', prefix], url: nodeUrl, prefix, db, cleanup: () => deleteKeys(prefix, db, url) };
}
