// Events waiting to be written, in arrival order, up to a bound: while the database is away the daemon keeps
// counting and remembers what it can, and counts what it had to drop so the operator is told.
import type { SessionExit } from '../protocol/sessions.js';
import type { Sample, SessionRow, WorkerGone } from './session-writes.js';

export type WriteOp =
  | { kind: 'enter'; row: SessionRow }
  | { kind: 'exit'; exit: SessionExit }
  | { kind: 'sample'; sample: Sample }
  | { kind: 'worker-gone'; gone: WorkerGone };

export interface Batch {
  entries: SessionRow[];
  exits: SessionExit[];
  samples: Sample[];
  /** Written after the entries and exits: a dead worker's entries came before its death. */
  workersGone: WorkerGone[];
}

export class WriteQueue {
  /** Events from `head` on are waiting; those before it are written and wait to be compacted away. */
  private ops: WriteOp[] = [];
  private head = 0;
  /** Events refused because the queue was full, since the start. */
  dropped = 0;
  /** The most events that waited at once, since the start: how close the queue came to its bound. */
  highWater = 0;

  constructor(readonly limit: number) {}

  get length(): number {
    return this.ops.length - this.head;
  }

  /** False when the queue is full and the event was dropped. */
  push(op: WriteOp): boolean {
    if (this.length >= this.limit) {
      this.dropped++;
      return false;
    }
    this.ops.push(op);
    if (this.length > this.highWater) this.highWater = this.length;
    return true;
  }

  /**
   * The oldest `max` events, grouped for writing. Entries are written before exits within a batch, which
   * keeps order: an exit's entry arrived before it, so it is in this batch or an earlier one.
   */
  peek(max: number): Batch {
    const batch: Batch = { entries: [], exits: [], samples: [], workersGone: [] };
    const end = this.head + Math.min(max, this.length);
    for (let i = this.head; i < end; i++) {
      const op = this.ops[i]!;
      if (op.kind === 'enter') batch.entries.push(op.row);
      else if (op.kind === 'exit') batch.exits.push(op.exit);
      else if (op.kind === 'sample') batch.samples.push(op.sample);
      else batch.workersGone.push(op.gone);
    }
    return batch;
  }

  /**
   * Forgets the oldest `count` events, once written. The array is compacted only once the written part is
   * at least half of it: a splice per batch moved every waiting event each time, quadratic in the backlog
   * (a queue sized for a large node holds millions of events after an outage).
   */
  remove(count: number): void {
    this.head += Math.min(count, this.length);
    if (this.head === this.ops.length) {
      this.ops = [];
      this.head = 0;
    } else if (this.head >= this.ops.length / 2) {
      this.ops = this.ops.slice(this.head);
      this.head = 0;
    }
  }
}
