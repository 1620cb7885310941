// Messages from other nodes this node refused (datagrams, or what it found under the Redis prefix), counted
// by reason for GET /api/nodes, each with a debug line. Reasons that
// point at a misconfiguration (a secret on one side only, a duplicate node id, a cap reached) also get a
// warning, once, because a debug line nobody enabled would hide them.
import { debugFor, logWarning } from '../../log.js';

const debug = debugFor('peers');

export class DropCounter {
  private readonly counts = new Map<string, number>();
  private readonly warned = new Set<string>();

  /** `reason` is one of a fixed set of short strings (never input), so the map stays small. */
  drop(reason: string, from: string, detail = reason, warning?: string): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    debug('dropped a message from %s: %s', from, detail);
    if (warning !== undefined) this.warnOnce(reason, warning);
  }

  warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    logWarning(message);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
