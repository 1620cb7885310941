// The two stores of the attendance log as tests use them: where the daemon writes (--attendance), how the
// test reads what was written, and how the test takes the database away and gives it back, for real.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './daemon.js';
import { createPgScope, postgresSkip } from './postgres.js';

export interface StoreUnderTest {
  /** --attendance value */
  target: string;
  rows(sql: string, params?: (string | number)[]): Promise<Record<string, unknown>[]>;
  /** Another process holds SQLite's write lock; PostgreSQL refuses the log's role and cuts its connections. */
  makeUnavailable(): Promise<void>;
  makeAvailable(): Promise<void>;
  cleanup(): Promise<void>;
}

export interface StoreKind {
  name: 'sqlite' | 'postgres';
  /** Why this store's tests are skipped here, or false. */
  skip: string | false;
  create(): Promise<StoreUnderTest>;
}

function sqliteStore(): StoreUnderTest {
  const dir = mkdtempSync(join(tmpdir(), 'audience-meter-attendance-'));
  const path = join(dir, 'attendance.db');
  let locker: Database.Database | undefined;
  return {
    target: path,
    async rows(sql, params = []) {
      const db = new Database(path, { readonly: true, fileMustExist: true });
      try {
        return db.prepare(sql).all(...params) as Record<string, unknown>[];
      } finally {
        db.close();
      }
    },
    async makeUnavailable() {
      locker = new Database(path);
      locker.exec('BEGIN EXCLUSIVE');
    },
    async makeAvailable() {
      locker?.exec('ROLLBACK');
      locker?.close();
      locker = undefined;
    },
    async cleanup() {
      locker?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresStore(): Promise<StoreUnderTest> {
  const scope = await createPgScope();
  return {
    target: scope.url,
    async rows(sql, params) {
      // Tests write `?` placeholders, as the log's shared SQL does.
      let n = 0;
      return (await scope.query(sql.replace(/\?/g, () => `$${++n}`), params)).rows;
    },
    makeUnavailable: () => scope.makeUnavailable(),
    makeAvailable: () => scope.makeAvailable(),
    cleanup: () => scope.drop(),
  };
}

export const STORES: StoreKind[] = [
  { name: 'sqlite', skip: false, create: async () => sqliteStore() },
  { name: 'postgres', skip: postgresSkip, create: postgresStore },
];

/** True for the error of a read before the daemon created its tables (PostgreSQL 42P01, SQLite "no such table"). */
function isMissingTable(error: unknown): boolean {
  const { code, message } = error as { code?: string; message?: string };
  return code === '42P01' || /^no such table/.test(message ?? '');
}

/** The session's row, or undefined while it is not written (or the log's tables are not created yet). */
export async function sessionRow(store: StoreUnderTest, session: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await store.rows('SELECT * FROM audience_meter_sessions WHERE session = ?', [session]))[0];
  } catch (error) {
    if (isMissingTable(error)) return undefined;
    throw error;
  }
}

/** Waits until the session's row is written and passes `check`. */
export function waitForSessionRow(store: StoreUnderTest, session: string, check: (row: Record<string, unknown>) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  return waitFor(async () => { const row = await sessionRow(store, session); return row !== undefined && check(row); }, timeoutMs, what);
}
