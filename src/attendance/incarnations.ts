// Crash recovery by runs, not by names. Every run of the daemon (an incarnation: a random id) has a row
// whose `last_seen` every write of the log refreshes, so a node that writes nothing still writes a heartbeat
// each interval. Any running node gives up for dead the incarnations whose `last_seen` is older than their
// own grace (each states its own, three heartbeat intervals), and closes their open sessions as `crash` at
// that `last_seen`: one UPDATE per incarnation, nothing kept in memory. A node that was only cut off from
// the database finds, at its next write, that it was given up, and takes back the sessions closed for it
// (marked `given_up_by`) before writing the exits it queued meanwhile, so those land on open rows.
import { INCARNATIONS, SESSIONS } from './schema.js';
import type { SqlRunner } from './sql-database.js';

export interface Incarnation {
  id: string;
  /** The label written with its sessions and samples. */
  node: string;
  startedAt: number;
  graceMs: number;
}

/** Heartbeats missed before the others give a run up: a slow write or a short outage is not a crash. */
export const GRACE_HEARTBEATS = 3;

export function graceFor(heartbeatMs: number): number {
  return GRACE_HEARTBEATS * heartbeatMs;
}

/** Idempotent: a registration retried after a commit whose answer was lost changes nothing. */
export async function registerIncarnation(tx: SqlRunner, incarnation: Incarnation): Promise<void> {
  const started = new Date(incarnation.startedAt);
  await tx.run(
    `INSERT INTO ${INCARNATIONS} (incarnation, node, started_at, last_seen, grace) VALUES (?, ?, ?, ?, ?) ON CONFLICT (incarnation) DO NOTHING`,
    [incarnation.id, incarnation.node, started, started, tx.dialect.duration(incarnation.graceMs)],
  );
}

/**
 * The first statement of every write: this run is alive at `at`. If another node gave it up for dead
 * meanwhile, the run is running again and every session that node closed is open again (`given_up_by`
 * tells them from the run's own `crash` exits, those of a worker that died). Answers how many were taken back.
 */
export async function heartbeat(tx: SqlRunner, incarnation: Incarnation, at: number): Promise<number> {
  const seen = new Date(at);
  const alive = await tx.run(`UPDATE ${INCARNATIONS} SET last_seen = ? WHERE incarnation = ? AND ended_at IS NULL`, [seen, incarnation.id]);
  if (alive > 0) return 0;
  const revived = await tx.run(`UPDATE ${INCARNATIONS} SET last_seen = ?, ended_at = NULL, end_reason = NULL WHERE incarnation = ?`, [seen, incarnation.id]);
  if (revived === 0) await registerIncarnation(tx, { ...incarnation, startedAt: at });
  return tx.run(`UPDATE ${SESSIONS} SET exit_at = NULL, exit_reason = NULL, given_up_by = NULL WHERE incarnation = ? AND given_up_by IS NOT NULL`,
    [incarnation.id]);
}

/** A session's last sign of life: its own (entry, or version 1's heartbeat) or its incarnation's, the later. */
const LAST_SIGN_OF_LIFE = `CASE WHEN ${SESSIONS}.last_seen > i.last_seen THEN ${SESSIONS}.last_seen ELSE i.last_seen END`;

/** Closes a dead run's open sessions as `crash` at their last sign of life, marked as given up by `self`. */
function closeGivenUpSessions(tx: SqlRunner, id: string, self: string): Promise<number> {
  return tx.run(
    `UPDATE ${SESSIONS} SET exit_at = ${LAST_SIGN_OF_LIFE}, last_seen = ${LAST_SIGN_OF_LIFE}, exit_reason = 'crash', given_up_by = ?
     FROM ${INCARNATIONS} AS i
     WHERE i.incarnation = ? AND ${SESSIONS}.incarnation = i.incarnation AND ${SESSIONS}.exit_at IS NULL`,
    [self, id],
  );
}

/**
 * Gives up every other incarnation whose heartbeat is older than its grace at `now`, and closes its open
 * sessions as `crash` at their last sign of life. Incarnations are claimed by the first UPDATE, so two
 * nodes sweeping at once close each one once (PostgreSQL's row lock; SQLite's single writer).
 */
export async function closeDeadIncarnations(tx: SqlRunner, self: string, now: number): Promise<{ incarnations: number; sessions: number }> {
  const dead = await tx.all<{ incarnation: unknown }>(
    `UPDATE ${INCARNATIONS} SET ended_at = last_seen, end_reason = 'crash'
     WHERE ended_at IS NULL AND incarnation <> ? AND last_seen + grace < ? RETURNING incarnation`,
    [self, new Date(now)],
  );
  let sessions = 0;
  for (const { incarnation } of dead) sessions += await closeGivenUpSessions(tx, String(incarnation), self);
  return { incarnations: dead.length, sessions };
}

/** A graceful stop: every session of this run still open ends at `at` as `shutdown`, and so does the run. */
export async function endIncarnation(tx: SqlRunner, id: string, at: number): Promise<number> {
  const when = new Date(at);
  const closed = await tx.run(`UPDATE ${SESSIONS} SET exit_at = ?, exit_reason = 'shutdown', last_seen = ? WHERE incarnation = ? AND exit_at IS NULL`,
    [when, when, id]);
  await tx.run(`UPDATE ${INCARNATIONS} SET last_seen = ?, ended_at = ?, end_reason = 'shutdown' WHERE incarnation = ?`, [when, when, id]);
  return closed;
}
