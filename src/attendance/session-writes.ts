// Every write of the log's sessions and samples, as SQL shared by both stores. Exits are idempotent: an exit
// only closes a session still open, so the first exit written wins (the registry's `expelled` before the
// worker's `left`, a worker's `shutdown` before the primary's closing sweep) and a repeated one changes nothing.
import type { SessionEntry, SessionExit } from '../protocol/sessions.js';
import { SAMPLES, SESSIONS } from './schema.js';
import { ROWS_PER_STATEMENT, valuesList, type SqlRunner, type SqlValue } from './sql-database.js';

/** A session as stored: the worker's entry after the primary applied --ip-storage and GeoIP. */
export interface SessionRow extends SessionEntry {
  /** The node id as /api/peers shows it, a label: crash recovery goes by `incarnation`, never by it. */
  node: string;
  /** The run of the daemon that holds the session. */
  incarnation: string;
  country: string | null;
}

export interface Sample {
  ns: string;
  at: number;
  members: number;
}

/**
 * The rows of one write in statements of a few fixed sizes: full ones of ROWS_PER_STATEMENT, then the rest in
 * powers of two (256, 128, … 1). Each size is one SQL text, so each kind of write prepares at most ten
 * statements and the stores' statement caches keep them all. One statement per batch size instead prepared a
 * new statement for nearly every tick's batch under churn (a 450-row INSERT is ~350 KB of native memory in
 * SQLite), and the cache, emptied when full, left hundreds of them to wait for V8's next full collection:
 * the primary's RSS ratchet of the 1,000,000-cycle churn (BENCHMARKS.md, issue 12).
 */
export function statementChunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  let i = 0;
  for (; items.length - i >= ROWS_PER_STATEMENT; i += ROWS_PER_STATEMENT) out.push(items.slice(i, i + ROWS_PER_STATEMENT));
  for (let size = 256; size >= 1; size >>= 1) {
    if (items.length - i >= size) {
      out.push(items.slice(i, i + size));
      i += size;
    }
  }
  return out;
}

const SESSION_COLUMNS = 'session, ns, user_id, user_name, connection, node, incarnation, transport, entry_at, last_seen, exit_at, exit_reason, page, browser, os, device, ip, country';

/** A session to insert, with its exit when the same batch carries it. */
export interface SessionWrite {
  row: SessionRow;
  exit: SessionExit | undefined;
}

/**
 * Pairs a batch's entries with the exits of the same sessions: such a session is inserted closed, one row
 * written once, instead of an INSERT and then an UPDATE that finds the row again by its id and moves it
 * in two indexes. Under churn nearly every session enters and leaves within one batch; that UPDATE was an
 * eighth of the primary's CPU and a good part of the pages each commit writes (BENCHMARKS.md, issue 12, the
 * churn ratchet). `later`: the exits of sessions written by an earlier batch, for closeSessions. The first exit
 * of a session wins, as in closeSessions.
 */
export function pairExits(entries: readonly SessionRow[], exits: readonly SessionExit[]): { sessions: SessionWrite[]; later: SessionExit[] } {
  const sessions: SessionWrite[] = [];
  const byId = new Map<string, SessionWrite>();
  for (const row of entries) {
    const write: SessionWrite = { row, exit: undefined };
    sessions.push(write);
    byId.set(row.session, write);
  }
  const later: SessionExit[] = [];
  for (const exit of exits) {
    const write = byId.get(exit.session);
    if (!write) later.push(exit);
    else write.exit ??= exit;
  }
  return { sessions, later };
}

export async function insertSessions(tx: SqlRunner, sessions: readonly SessionWrite[]): Promise<void> {
  for (const chunk of statementChunks(sessions)) {
    const params: SqlValue[] = [];
    for (const { row: r, exit } of chunk) {
      const at = new Date(r.at);
      const exitAt = exit ? new Date(exit.at) : null;
      params.push(r.session, r.ns, r.user, r.name, r.connection, r.node, r.incarnation, r.transport, at, exitAt ?? at, exitAt, exit?.reason ?? null,
        r.page, r.browser, r.os, r.device, r.ip, r.country);
    }
    // A session already written (a batch retried after a commit whose answer was lost) is kept as it is.
    await tx.run(`INSERT INTO ${SESSIONS} (${SESSION_COLUMNS}) VALUES ${valuesList(chunk.length, 18)} ON CONFLICT (session) DO NOTHING`, params);
  }
}

export async function closeSessions(tx: SqlRunner, exits: readonly SessionExit[]): Promise<void> {
  // Within one statement two rows for one session would race; keep the first, as the database would.
  const seen = new Set<string>();
  const firsts = exits.filter((e) => !seen.has(e.session) && seen.add(e.session));
  for (const chunk of statementChunks(firsts)) {
    const params: SqlValue[] = [];
    for (const e of chunk) params.push(e.session, new Date(e.at), e.reason);
    await tx.run(
      `UPDATE ${SESSIONS} SET exit_at = v.column2, exit_reason = v.column3, last_seen = v.column2
       FROM (VALUES ${valuesList(chunk.length, 3, [undefined, tx.dialect.timeType, undefined])}) AS v
       WHERE ${SESSIONS}.session = v.column1 AND ${SESSIONS}.exit_at IS NULL`,
      params,
    );
  }
}

export async function insertSamples(tx: SqlRunner, node: string, samples: readonly Sample[]): Promise<void> {
  for (const chunk of statementChunks(samples)) {
    const params: SqlValue[] = [];
    for (const s of chunk) params.push(s.ns, new Date(s.at), node, s.members);
    await tx.run(`INSERT INTO ${SAMPLES} (ns, at, node, members) VALUES ${valuesList(chunk.length, 4)} ON CONFLICT (ns, at, node) DO NOTHING`, params);
  }
}

/** A worker of this run died: its sessions still open are closed as `crash` at `at`. */
export interface WorkerGone {
  /** What every connection id of that worker starts with (protocol/connection-id.ts: node ids and digits only). */
  prefix: string;
  at: number;
}

/**
 * One UPDATE per dead worker: the run's rows still open whose connection id carries its prefix. Nothing is
 * kept in memory for it; the rows tell which worker held them.
 */
export async function closeWorkerSessions(tx: SqlRunner, incarnation: string, gone: readonly WorkerGone[]): Promise<number> {
  let closed = 0;
  for (const { prefix, at } of gone) {
    const when = new Date(at);
    closed += await tx.run(
      `UPDATE ${SESSIONS} SET exit_at = ?, exit_reason = 'crash', last_seen = ?
       WHERE incarnation = ? AND exit_at IS NULL AND connection LIKE ?`,
      [when, when, incarnation, `${prefix}%`],
    );
  }
  return closed;
}
