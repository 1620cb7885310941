// The SQLite store (better-sqlite3): one file, WAL so readers never wait for the writer. The driver is
// synchronous; the log batches writes so each call is one short transaction in the primary's event loop.
import Database from 'better-sqlite3';
import type { Dialect, Row, SqlDatabase, SqlRunner, SqlValue } from './sql-database.js';

/** SQLite has no time types: times and durations are integer milliseconds. */
const SQLITE: Dialect = {
  kind: 'sqlite',
  timeType: 'INTEGER',
  duration: (ms) => ms,
  tableExists: (table) => ({ sql: "SELECT COUNT(*) AS present FROM sqlite_master WHERE type = 'table' AND name = ?", params: [table] }),
};

/** better-sqlite3 binds no Date: a time is its ms since epoch. */
function bound(params: readonly SqlValue[]): (string | number | null)[] {
  return params.map((value) => (value instanceof Date ? value.getTime() : value));
}

/** A writer kept out by another process's lock waits this long, then the log retries later: the primary's event loop must not stall. */
const BUSY_TIMEOUT_MS = 50;
const STATEMENT_CACHE_LIMIT = 200;

export class SqliteDatabase implements SqlDatabase {
  readonly kind = 'sqlite';
  readonly dialect = SQLITE;
  readonly migrationLock = undefined;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly runner: SqlRunner;

  constructor(path: string) {
    this.db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    this.db.pragma('journal_mode = WAL');
    // With WAL, NORMAL loses at most the last transactions on a power cut, never the file's integrity.
    this.db.pragma('synchronous = NORMAL');
    this.runner = {
      dialect: SQLITE,
      run: async (sql, params = []) => this.statement(sql).run(...bound(params)).changes,
      all: async <T extends Row>(sql: string, params: readonly SqlValue[] = []) => this.statement(sql).all(...bound(params)) as T[],
    };
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.runner.run(sql, params);
  }

  all<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.runner.all<T>(sql, params);
  }

  async transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    // IMMEDIATE takes the write lock up front, so a busy database fails here rather than halfway through.
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = await work(this.runner);
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      if (this.statements.size >= STATEMENT_CACHE_LIMIT) this.statements.clear();
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}
