// The PostgreSQL store (pg): for several nodes writing one shared log. A small pool: the primary writes
// one batch at a time, and a report may read meanwhile. The tables live in the connection's search_path,
// so `?options=-c search_path=…` in the URL picks a schema.
import { userInfo } from 'node:os';
import pg from 'pg';
import { logError } from '../log.js';
import type { Dialect, Row, SqlDatabase, SqlRunner, SqlValue } from './sql-database.js';

/** PostgreSQL's own types: `timestamptz` (pg binds a Date as one) and `interval`. */
const POSTGRES: Dialect = {
  kind: 'postgres',
  timeType: 'timestamptz',
  duration: (ms) => `${ms} milliseconds`,
  // to_regclass resolves the name through the search_path, as every unqualified statement of the log does.
  tableExists: (table) => ({ sql: 'SELECT to_regclass(?) IS NOT NULL AS present', params: [table] }),
};

const POOL_SIZE = 3;
const CONNECT_TIMEOUT_MS = 5000;
/** A statement still running after this is abandoned and the batch retried: a hung server must not hang the log. */
const STATEMENT_TIMEOUT_MS = 30_000;
// Any key of the bigint advisory lock space, fixed so every node of one log agrees on it.
const MIGRATION_LOCK_KEY = 0x61756469656e6365n & 0x7fffffffffffffffn;

/** The common SQL uses `?`; pg numbers its parameters. No statement of the log has a `?` inside a literal. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

function runnerOf(client: pg.Pool | pg.PoolClient): SqlRunner {
  return {
    dialect: POSTGRES,
    run: async (sql, params = []) => (await client.query(numbered(sql), params as SqlValue[])).rowCount ?? 0,
    all: async <T extends Row>(sql: string, params: readonly SqlValue[] = []) => (await client.query(numbered(sql), params as SqlValue[])).rows as T[],
  };
}

export class PostgresDatabase implements SqlDatabase {
  readonly kind = 'postgres';
  readonly dialect = POSTGRES;
  readonly migrationLock = `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
  private readonly pool: pg.Pool;
  private readonly runner: SqlRunner;

  constructor(url: string) {
    // A URL without a user name falls back to $PGUSER, then to pg's default, $USER, which service managers
    // and containers often leave unset. psql falls back to the login name; so does this.
    pg.defaults.user ||= userInfo().username;
    this.pool = new pg.Pool({
      connectionString: url,
      max: POOL_SIZE,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      query_timeout: STATEMENT_TIMEOUT_MS + 5000,
    });
    // An idle connection cut by the server (restart, terminate) emits here; unhandled it would kill the primary.
    this.pool.on('error', (error) => logError(`attendance log: PostgreSQL connection lost: ${error.message}`));
    this.runner = runnerOf(this.pool);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.runner.run(sql, params);
  }

  all<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.runner.all<T>(sql, params);
  }

  async transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await work(runnerOf(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true; // the connection itself failed: the pool must not hand it out again
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
