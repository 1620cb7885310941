// The attendance log as the primary sees it (DESIGN principle 4: the primary is its only writer). Workers'
// session events and the primary's samples go in; a database store or, with `--attendance off`, nothing
// writes them out. Calls never throw and never wait for the database: counting must go on without it.
import type { SessionEntry, SessionExit } from '../protocol/sessions.js';
import type { AttendanceReports } from './reports/attendance-reports.js';

export interface AttendanceLogStatus {
  /** Where the log writes, without any password. */
  target: string;
  /** Events waiting to be written. */
  queued: number;
  /** The most events that waited at once since the start. */
  highWater: number;
  /** The queue's bound (--attendance-queue); 0 with the log off. */
  limit: number;
  /** Events dropped because the queue was full while the database was away, since the start. */
  dropped: number;
  /** Why the last write failed, while the database is away. */
  failing: string | undefined;
}

/** One namespace's count in a sample (the audience table's records have these fields, and more). */
export interface MemberCount {
  readonly name: string;
  readonly members: number;
}

/**
 * Every namespace's count, handed to `visit` one at a time: the audience table itself (its records are one
 * view reused over its rows, valid only during each call, so a sample costs no object per namespace until
 * it is kept) or a plain array.
 */
export interface MemberCounts {
  forEach(visit: (count: MemberCount) => void): void;
}

export interface AttendanceLog {
  /**
   * Starts writing: connects, migrates, registers this run (its incarnation), closes what dead runs left
   * open, then writes what queued meanwhile. Called once this daemon holds its public port, so a daemon
   * that fails to start never writes a run of its own.
   */
  start(): void;
  /** Sessions entered and exited since the worker's previous report, in that order. */
  record(entered: readonly SessionEntry[], exited: readonly SessionExit[]): void;
  /**
   * A worker of this node died: every session it held still open ends at `at` as `crash`, in the database
   * (one statement, by `connectionPrefix`, what its connection ids start with), after what it reported.
   */
  workerGone(connectionPrefix: string, at: number): void;
  /** Every namespace's member count at `at` (ms since epoch). */
  sample(counts: MemberCounts, at: number): void;
  /** Reads for the admin API; undefined when the log is off. */
  readonly reports: AttendanceReports | undefined;
  status(): AttendanceLogStatus;
  /** Resolves true once everything queued so far is written, false if that takes longer than `timeoutMs`. */
  flushed(timeoutMs: number): Promise<boolean>;
  /**
   * A graceful stop: writes what is queued, then ends every session of this node still open with reason
   * `shutdown` at `at`, then closes the database. Gives up after `deadlineMs` (any running node then closes
   * those sessions as `crash` once this run's heartbeat is older than its grace).
   */
  close(at: number, deadlineMs: number): Promise<void>;
}

/** `--attendance off`: counting only. */
export class NoAttendanceLog implements AttendanceLog {
  readonly reports = undefined;
  start(): void {}
  record(): void {}
  workerGone(): void {}
  sample(): void {}
  status(): AttendanceLogStatus {
    return { target: 'off', queued: 0, highWater: 0, limit: 0, dropped: 0, failing: undefined };
  }
  async flushed(): Promise<boolean> {
    return true;
  }
  async close(): Promise<void> {}
}
