// Names for sessions and connections. A session id is what a browser sends back as Last-Event-ID and what
// expels a stream, so it must be unguessable: 128 random bits from node:crypto, in base64url. Random bytes
// are drawn in blocks rather than per viewer, so a flash crowd does not make one call per join.
// A connection id only has to be unique: node id, worker id, the worker's start time, and a counter
// (protocol/connection-id.ts).
import { randomFillSync } from 'node:crypto';
import { workerPrefix } from '../protocol/connection-id.js';

const SESSION_ID_BYTES = 16;
const BLOCK_BYTES = SESSION_ID_BYTES * 256;

const block = Buffer.alloc(BLOCK_BYTES);
let offset = BLOCK_BYTES;

export function newSessionId(): string {
  if (offset === BLOCK_BYTES) {
    randomFillSync(block);
    offset = 0;
  }
  const id = block.toString('base64url', offset, offset + SESSION_ID_BYTES);
  offset += SESSION_ID_BYTES;
  return id;
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
