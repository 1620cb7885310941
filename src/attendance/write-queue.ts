// Events waiting to be written, in arrival order, up to a bound: while the database is away the daemon keeps
// counting and remembers what it can, and counts what it had to drop so the operator is told.
//
// An event waits as it came: a worker's entry or exit is the object the primary parsed from the report, its kind
// a small integer in a parallel array. Under churn every event waits here for the flush delay and its write,
// long enough to outlive a young-generation collection or two; a row copied from each entry and an object
// wrapping each event were two more objects per event for V8 to move to its old generation, where they stayed
// until the next full collection (BENCHMARKS.md, issue 12, the churn ratchet). The row is built when written.
import type { SessionEntry, SessionExit } from '../protocol/sessions.js';
import type { Sample, WorkerGone } from './session-writes.js';

export interface WaitingEvents {
  enter: SessionEntry;
  exit: SessionExit;
  sample: Sample;
  'worker-gone': WorkerGone;
}

export type EventKind = keyof WaitingEvents;

/** The kinds as small integers: an array of them holds no object per event. */
const KIND_CODES: Record<EventKind, number> = { enter: 0, exit: 1, sample: 2, 'worker-gone': 3 };

export interface Batch {
  entries: SessionEntry[];
  exits: SessionExit[];
  samples: Sample[];
  /** Written after the entries and exits: a dead worker's entries came before its death. */
  workersGone: WorkerGone[];
}

export class WriteQueue {
  /** Events from `head` on are waiting; those before it are written and wait to be compacted away. */
  private events: Array<WaitingEvents[EventKind]> = [];
  /** The kind of each event, by the same index. */
  private kinds: number[] = [];
  private head = 0;
  /** Events refused because the queue was full, since the start. */
  dropped = 0;
  /** The most events that waited at once, since the start: how close the queue came to its bound. */
  highWater = 0;

  constructor(readonly limit: number) {}

  get length(): number {
    return this.events.length - this.head;
  }

  /** False when the queue is full and the event was dropped. */
  push<K extends EventKind>(kind: K, event: WaitingEvents[K]): boolean {
    if (this.length >= this.limit) {
      this.dropped++;
      return false;
    }
    this.events.push(event);
    this.kinds.push(KIND_CODES[kind]);
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
      const event = this.events[i]!;
      switch (this.kinds[i]) {
        case KIND_CODES.enter: batch.entries.push(event as SessionEntry); break;
        case KIND_CODES.exit: batch.exits.push(event as SessionExit); break;
        case KIND_CODES.sample: batch.samples.push(event as Sample); break;
        default: batch.workersGone.push(event as WorkerGone);
      }
    }
    return batch;
  }

  /**
   * Forgets the oldest `count` events, once written. The arrays are compacted only once the written part is
   * at least half of them: a splice per batch moved every waiting event each time, quadratic in the backlog
   * (a queue sized for a large node holds millions of events after an outage).
   */
  remove(count: number): void {
    this.head += Math.min(count, this.length);
    if (this.head === this.events.length) {
      this.events = [];
      this.kinds = [];
      this.head = 0;
    } else if (this.head >= this.events.length / 2) {
      this.events = this.events.slice(this.head);
      this.kinds = this.kinds.slice(this.head);
      this.head = 0;
    }
  }
}
