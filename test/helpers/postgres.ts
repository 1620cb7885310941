// PostgreSQL for the attendance tests: the machine's server (127.0.0.1:5432, trust auth, database `test`),
// or AUDIENCE_METER_TEST_PG. Each scope is a role and a schema of its own, named at random and dropped
// after, so runs never see each other and the server is left as it was. Under CI=true an unreachable
// server is a failure; elsewhere the tests are skipped with the reason.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const CANDIDATES = process.env.AUDIENCE_METER_TEST_PG
  ? [process.env.AUDIENCE_METER_TEST_PG]
  : ['postgres://postgres@127.0.0.1:5432/test', 'postgres://root@127.0.0.1:5432/test'];

let adminUrl: string | undefined;
let unreachable = '';
for (const url of CANDIDATES) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    adminUrl = url;
    break;
  } catch (error) {
    unreachable += `${url.replace(/\/\/[^@]*@/, '//')}: ${(error as Error).message}; `;
  } finally {
    await client.end().catch(() => {});
  }
}

if (!adminUrl && process.env.CI === 'true') throw new Error(`PostgreSQL is required under CI=true and is unreachable: ${unreachable}`);

/** Why PostgreSQL tests are skipped here, or false when they run. */
export const postgresSkip: string | false = adminUrl ? false : `PostgreSQL unreachable (${unreachable.trim()})`;
if (postgresSkip) process.stderr.write(`# skipping PostgreSQL tests: ${postgresSkip}\n`);

export interface PgScope {
  /** What --attendance takes: the scope's role, its schema first in the search_path. */
  url: string;
  schema: string;
  query(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  /** The database goes away for the log: its role may no longer log in and its connections are cut. */
  makeUnavailable(): Promise<void>;
  makeAvailable(): Promise<void>;
  drop(): Promise<void>;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function createPgScope(): Promise<PgScope> {
  if (!adminUrl) throw new Error('PostgreSQL is unreachable');
  const name = `am_test_${randomBytes(6).toString('hex')}`;
  await admin(async (c) => {
    await c.query(`CREATE ROLE ${name} LOGIN`);
    await c.query(`CREATE SCHEMA ${name} AUTHORIZATION ${name}`);
  });
  const url = new URL(adminUrl);
  url.username = name;
  url.searchParams.set('options', `-c search_path=${name}`);
  return {
    url: url.toString(),
    schema: name,
    query: (sql, params) => admin(async (c) => {
      await c.query(`SET search_path = ${name}`);
      return c.query(sql, params);
    }),
    makeUnavailable: () => admin(async (c) => {
      await c.query(`ALTER ROLE ${name} NOLOGIN`);
      await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [name]);
    }),
    makeAvailable: () => admin(async (c) => { await c.query(`ALTER ROLE ${name} LOGIN`); }),
    drop: () => admin(async (c) => {
      await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [name]);
      await c.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      await c.query(`DROP ROLE IF EXISTS ${name}`);
    }),
  };
}
