// Names for sessions and connections. A session id is what a browser sends back as Last-Event-ID and what
// expels a stream, so it must be unguessable; it is also the attendance log's primary key, so consecutive
// sessions should sit together in that index. Hence 16 bytes: the first 6 the millisecond clock (big-endian),
// the other 10 random (80 bits from node:crypto, drawn in blocks rather than per viewer, so a flash crowd does
// not make one call per join), in base64url (22 characters). With random ids every row of a commit landed on
// its own page of the index, and the commit wrote thousands of pages to the WAL (BENCHMARKS.md, issue 12,
// the churn ratchet). The 48 clock bits are exactly the first 8 characters, 6 bits each, and base64url's
// alphabet is not in ASCII order, so the text is not sorted by time overall (a later id may sort before an
// earlier one); but ids made within the same 64 ms share their first 8 characters, within about 4 s their
// first 7, within about 4 min their first 6, and under byte order (SQLite's) ids with a shared prefix are
// contiguous, which is all the locality an index needs (nearly so under a locale's collation, PostgreSQL's
// default, which compares letters before their case). The clock tells only when a session began, which its
// stream knows anyway; the 80 random bits are what nobody can guess.
// A connection id only has to be unique: node id, worker id, the worker's start time, and a counter
// (protocol/connection-id.ts).
import { randomFillSync } from 'node:crypto';
import { workerPrefix } from '../protocol/connection-id.js';

const SESSION_ID_BYTES = 16;
const CLOCK_BYTES = 6;
const RANDOM_BYTES = SESSION_ID_BYTES - CLOCK_BYTES;
const BLOCK_BYTES = RANDOM_BYTES * 256;

const block = Buffer.alloc(BLOCK_BYTES);
let offset = BLOCK_BYTES;
const id = Buffer.alloc(SESSION_ID_BYTES);

/** `now`: the millisecond clock the id starts with (a test's own; the daemon's is Date.now()). */
export function newSessionId(now = Date.now()): string {
  if (offset === BLOCK_BYTES) {
    randomFillSync(block);
    offset = 0;
  }
  id.writeUIntBE(now, 0, CLOCK_BYTES);
  block.copy(id, CLOCK_BYTES, offset, offset + RANDOM_BYTES);
  offset += RANDOM_BYTES;
  return id.toString('base64url');
}

/** The shape of a session id as the daemon makes them; anything else in Last-Event-ID is not one. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

export class ConnectionIds {
  private readonly prefix: string;
  private counter = 0;

  /** The start time tells a respawned worker, which may get a used worker id back after a restart, from the last. */
  constructor(nodeId: string, workerId: number, startedAt = Date.now()) {
    this.prefix = workerPrefix(nodeId, workerId, startedAt);
  }

  next(): string {
    return this.name(this.take());
  }

  /** A new connection's number; a viewer keeps this small integer, not the string. */
  take(): number {
    return this.counter++;
  }

  name(counter: number): string {
    return this.prefix + counter.toString(36);
  }

  /** The number of a connection id made by this instance, else undefined (another worker's, or not an id). */
  counterOf(id: string): number | undefined {
    if (!id.startsWith(this.prefix)) return undefined;
    const suffix = id.slice(this.prefix.length);
    if (!/^[0-9a-z]{1,11}$/.test(suffix)) return undefined;
    const counter = parseInt(suffix, 36);
    return this.name(counter) === id ? counter : undefined;
  }
}
