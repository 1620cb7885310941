// The attendance log over a database: events queue in memory and one writer loop puts them in the database
// a batch per transaction. When the database fails (unreachable, full, locked) the loop says so loudly on
// stderr, keeps the events (up to the queue's bound), retries with backoff, and writes them when it returns.
// The same loop, the log's only writer, keeps this run's heartbeat, closes the sessions of runs that died
// (incarnations.ts) and deletes what is older than --retention-days (retention.ts) between two batches.
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { SessionEntry, SessionExit } from '../protocol/sessions.js';
import { debugFor, logError, logInfo } from '../log.js';
import type { AttendanceLog, AttendanceLogStatus, MemberCounts } from './attendance-log.js';
import { closeDeadIncarnations, endIncarnation, graceFor, heartbeat, registerIncarnation, type Incarnation } from './incarnations.js';
import { migrate } from './migrations.js';
import { AttendanceReports } from './reports/attendance-reports.js';
import { MIN_DEFAULT_QUEUE } from './queue-bound.js';
import { DAY_MS, RetentionPass, RETENTION_BATCH } from './retention.js';
import { sessionRow, type RowFacts } from './session-rows.js';
import { closeSessions, closeWorkerSessions, insertSamples, insertSessions, pairExits } from './session-writes.js';
import type { SqlDatabase } from './sql-database.js';
import { type EventKind, type WaitingEvents, WriteQueue } from './write-queue.js';

const debug = debugFor('attendance');

export interface DatabaseLogSettings {
  /** Opens the database; may throw (a SQLite file that cannot be opened). */
  open(): SqlDatabase;
  /** For log lines: where the log writes, without a password. */
  target: string;
  facts: RowFacts;
  /** Events held while the database is slow or away (create-attendance-log.ts sizes it from the node). */
  queueLimit?: number;
  /** Events per transaction: a flash crowd is written in a few transactions, each short enough not to stall the primary. */
  batchSize?: number;
  /** How long events gather before a write, so the reports of every worker in one tick share a transaction. */
  flushDelayMs?: number;
  /** How often this run proves itself alive and looks for dead runs; the grace is three of them. */
  heartbeatMs?: number;
  /** Closed sessions and samples older than this many days are deleted; 0 keeps everything. */
  retentionDays?: number;
  retentionBatch?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
}

const LOUD_EVERY_MS = 30_000;
export const DEFAULT_HEARTBEAT_MS = 30_000;
/** A retention pass at start, then one an hour: a day's worth of rows is a few batches. */
const RETENTION_EVERY_MS = 3_600_000;
/** A report arriving while the log connects and migrates waits this long before answering 503. */
const READY_WAIT_MS = 3000;

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

export class DatabaseAttendanceLog implements AttendanceLog {
  readonly reports: AttendanceReports;
  private readonly queue: WriteQueue;
  private readonly batchSize: number;
  private readonly flushDelayMs: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private db: SqlDatabase | undefined;
  private ready = false;
  private pumping = false;
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  /** This run, as the log knows it: every session it writes carries the id. */
  readonly incarnation: Incarnation;
  /** A heartbeat is due: refresh `last_seen` even with nothing to write, and look for dead runs. */
  private heartbeatDue = false;
  private retention: RetentionPass | undefined;
  private started = false;
  private retryMs: number;
  private failing: { reason: string; since: number; loudAt: number; droppedBefore: number } | undefined;
  private closingAt: number | undefined;
  private shutdownWritten = false;
  private closed = false;
  /** The queue-full warning is given once per outage. */
  private dropWarned = false;
  private waiters: (() => void)[] = [];

  constructor(private readonly settings: DatabaseLogSettings) {
    this.queue = new WriteQueue(settings.queueLimit ?? MIN_DEFAULT_QUEUE);
    this.batchSize = settings.batchSize ?? 5000;
    this.flushDelayMs = settings.flushDelayMs ?? 50;
    this.retryMinMs = settings.retryMinMs ?? 250;
    this.retryMaxMs = settings.retryMaxMs ?? 5000;
    this.retryMs = this.retryMinMs;
    this.reports = new AttendanceReports(() => this.readable());
    this.incarnation = { id: randomUUID(), node: settings.facts.node, startedAt: Date.now(), graceMs: graceFor(settings.heartbeatMs ?? DEFAULT_HEARTBEAT_MS) };
  }

  start(): void {
    if (this.started || this.closingAt !== undefined) return;
    this.started = true;
    this.heartbeat = setInterval(() => {
      this.heartbeatDue = true;
      this.schedule(this.flushDelayMs);
    }, this.settings.heartbeatMs ?? DEFAULT_HEARTBEAT_MS).unref();
    if (this.settings.retentionDays) {
      this.retentionTimer = setInterval(() => this.startRetention(), RETENTION_EVERY_MS).unref();
    }
    // Connect, migrate and close what a crash left open first: prepare() runs before any write.
    this.schedule(0);
  }

  record(entered: readonly SessionEntry[], exited: readonly SessionExit[]): void {
    if (this.closed) return;
    // As they came: the rows are built when written (write-queue.ts says why).
    for (const entry of entered) this.push('enter', entry);
    for (const exit of exited) this.push('exit', exit);
    if (entered.length + exited.length > 0) this.schedule(this.flushDelayMs);
  }

  workerGone(connectionPrefix: string, at: number): void {
    if (this.closed) return;
    this.push('worker-gone', { prefix: connectionPrefix, at });
    this.schedule(this.flushDelayMs);
  }

  sample(counts: MemberCounts, at: number): void {
    if (this.closed) return;
    counts.forEach(({ name: ns, members }) => this.push('sample', { ns, at, members }));
    this.schedule(this.flushDelayMs);
  }

  status(): AttendanceLogStatus {
    const { length: queued, highWater, limit, dropped } = this.queue;
    return { target: this.settings.target, queued, highWater, limit, dropped, failing: this.failing?.reason };
  }

  flushed(timeoutMs: number): Promise<boolean> {
    if (this.idle()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timeout = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timeout);
        resolve(true);
      });
    });
  }

  async close(at: number, deadlineMs: number): Promise<void> {
    if (this.closingAt !== undefined) return;
    this.closingAt = at;
    clearInterval(this.heartbeat);
    clearInterval(this.retentionTimer);
    if (!this.started) {
      // Never started (the daemon failed before holding its port): nothing of this run may touch the log.
      this.closed = true;
      return;
    }
    this.retryMs = this.retryMinMs;
    this.schedule(0);
    const done = await this.flushed(deadlineMs);
    this.closed = true;
    clearTimeout(this.timer);
    if (!done) {
      logError(`attendance log: could not write to ${this.settings.target} before stopping; ${this.queue.length} events lost,`
        + ' and the sessions still open will be closed as `crash` by the next node that runs, after the grace');
    }
    // A write still running when the deadline hit ends with an error on the closed handle, which is fine.
    await this.db?.close().catch(() => {});
  }

  private push<K extends EventKind>(kind: K, event: WaitingEvents[K]): void {
    if (this.queue.push(kind, event) || this.dropWarned) return;
    this.dropWarned = true;
    logError(`attendance log: ${this.queue.limit} events are waiting for ${this.settings.target}, the limit; `
      + 'new events are dropped (and counted) until it returns');
  }

  private idle(): boolean {
    const sweepPending = this.closingAt !== undefined && !this.shutdownWritten;
    // A retention pass under way keeps the log busy, except when stopping: a stop abandons it.
    const retentionPending = this.retention !== undefined && this.closingAt === undefined;
    return this.ready && this.queue.length === 0 && !this.heartbeatDue && !sweepPending && !retentionPending;
  }

  private schedule(delayMs: number): void {
    if (this.timer !== undefined || this.pumping || this.closed || !this.started) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pump();
    }, delayMs);
  }

  /** The database for a report, once migrated; waits a little for a log still starting. */
  private async readable(): Promise<SqlDatabase> {
    const deadline = Date.now() + READY_WAIT_MS;
    while (!this.ready && !this.failing && !this.closed && Date.now() < deadline) await sleep(20);
    if (!this.db || !this.ready) throw new Error(`the attendance log is not reachable${this.failing ? `: ${this.failing.reason}` : ''}`);
    return this.db;
  }

  /** The writer loop: one at a time, until nothing is left or a write fails. */
  private async pump(): Promise<void> {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    let failed = false;
    try {
      while (!this.closed) {
        if (!this.ready) await this.prepare();
        // Writes first: a retention batch runs only when nothing is waiting.
        if (!(await this.writeNext()) && !(await this.pruneNext())) break;
        this.recovered();
        await nextTurn(); // let IPC and HTTP in between two transactions of a flash crowd
      }
      this.recovered();
    } catch (error) {
      failed = true;
      this.failed(error);
    } finally {
      this.pumping = false;
    }
    if (failed) {
      this.schedule(this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, this.closingAt === undefined ? this.retryMaxMs : this.retryMinMs);
    } else if (this.idle()) {
      for (const wake of this.waiters.splice(0)) wake();
    } else {
      this.schedule(0);
    }
  }

  private async prepare(): Promise<void> {
    this.db ??= this.settings.open();
    const applied = await migrate(this.db);
    if (applied.length > 0) logInfo(`attendance log: ${this.settings.target}: schema migrated to version ${applied.at(-1)}`);
    const dead = await this.db.transaction(async (tx) => {
      await registerIncarnation(tx, this.incarnation);
      return closeDeadIncarnations(tx, this.incarnation.id, Date.now());
    });
    this.reportDead(dead);
    this.ready = true;
    this.startRetention();
  }

  private reportDead(dead: { incarnations: number; sessions: number }): void {
    if (dead.incarnations === 0) return;
    logInfo(`attendance log: ${dead.incarnations} run${dead.incarnations === 1 ? '' : 's'} of the daemon stopped sending heartbeats`
      + ` (grace ${this.incarnation.graceMs / 1000} s); closed ${dead.sessions} session${dead.sessions === 1 ? '' : 's'} left open by a crash, at their last-seen time`);
  }

  /** Writes the next batch, with this run's heartbeat first; false when there was nothing to write. */
  private async writeNext(): Promise<boolean> {
    const db = this.db!;
    const batch = this.queue.peek(this.batchSize);
    const count = batch.entries.length + batch.exits.length + batch.samples.length + batch.workersGone.length;
    const sweepDue = this.heartbeatDue;
    const closeAt = count === this.queue.length && !this.shutdownWritten ? this.closingAt : undefined;
    if (count === 0 && !sweepDue && closeAt === undefined) return false;
    const done = await db.transaction(async (tx) => {
      const reopened = await heartbeat(tx, this.incarnation, Date.now());
      const rows = batch.entries.map((entry) => sessionRow(entry, this.settings.facts, this.incarnation.id));
      const { sessions, later } = pairExits(rows, batch.exits);
      await insertSessions(tx, sessions);
      await closeSessions(tx, later);
      await insertSamples(tx, this.incarnation.node, batch.samples);
      const crashed = await closeWorkerSessions(tx, this.incarnation.id, batch.workersGone);
      if (crashed > 0) debug('closed %d sessions of %d dead worker(s) as crash', crashed, batch.workersGone.length);
      const dead = sweepDue ? await closeDeadIncarnations(tx, this.incarnation.id, Date.now()) : undefined;
      const closed = closeAt === undefined ? 0 : await endIncarnation(tx, this.incarnation.id, closeAt);
      return { reopened, dead, closed };
    });
    this.queue.remove(count);
    if (sweepDue) this.heartbeatDue = false;
    if (closeAt !== undefined) {
      this.shutdownWritten = true;
      debug('closed %d open sessions at shutdown', done.closed);
    }
    if (done.reopened > 0) {
      logInfo(`attendance log: another node had given this run up for dead while ${this.settings.target} was out of reach and closed`
        + ` ${done.reopened} of its sessions as crash; they are open again`);
    }
    if (done.dead) this.reportDead(done.dead);
    debug('wrote %d entries, %d exits, %d samples', batch.entries.length, batch.exits.length, batch.samples.length);
    return true;
  }

  private startRetention(): void {
    const days = this.settings.retentionDays ?? 0;
    if (days <= 0 || this.retention || !this.ready) return;
    this.retention = new RetentionPass(Date.now() - days * DAY_MS, this.settings.retentionBatch ?? RETENTION_BATCH);
    this.schedule(0);
  }

  /** Deletes one batch of what --retention-days says is too old; false when no pass is under way. */
  private async pruneNext(): Promise<boolean> {
    const pass = this.retention;
    if (!pass || this.closingAt !== undefined) return false;
    if (await pass.next(this.db!)) return true;
    this.retention = undefined;
    const { sessions, samples, incarnations } = pass.pruned;
    if (sessions + samples + incarnations > 0) {
      logInfo(`attendance log: retention (${this.settings.retentionDays} days): deleted ${sessions} closed sessions, ${samples} samples`
        + ` and ${incarnations} ended runs from before ${new Date(pass.cutoff).toISOString()}`);
    }
    return false;
  }

  private failed(error: unknown): void {
    const reason = oneLine(error);
    const now = Date.now();
    const { queued, dropped } = this.status();
    if (!this.failing) {
      this.failing = { reason, since: now, loudAt: now, droppedBefore: dropped };
      logError(`attendance log: cannot write to ${this.settings.target}: ${reason}; counting goes on, `
        + `events wait in memory (up to ${this.queue.limit}) and the write is retried`);
    } else if (now - this.failing.loudAt >= LOUD_EVERY_MS) {
      this.failing.loudAt = now;
      this.failing.reason = reason;
      logError(`attendance log: still cannot write to ${this.settings.target}: ${reason}; ${queued} events waiting, `
        + `${dropped - this.failing.droppedBefore} dropped`);
    }
  }

  private recovered(): void {
    if (!this.failing) return;
    const seconds = Math.round((Date.now() - this.failing.since) / 1000);
    const dropped = this.queue.dropped - this.failing.droppedBefore;
    logInfo(`attendance log: ${this.settings.target} is writable again after ${seconds} s; waiting events are being written`
      + (dropped > 0 ? `, ${dropped} events were dropped while it was away (queue limit ${this.queue.limit})` : ', none lost'));
    this.failing = undefined;
    this.dropWarned = false;
    this.retryMs = this.retryMinMs;
  }
}
