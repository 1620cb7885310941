// The node's admission limits, --max-namespaces and --max-conns-per-ip, decided here and enforced by the
// workers.
//
// Where each limit is decided: the numbers they bound are the primary's. The audience table is the only
// owner of the namespace count (every worker's namespaces, the peers' and the empty ones awaiting the clean
// delay), and the connections index the only place that sees every open stream of this node with its
// address. A worker sees only its own share of either, so a limit a worker counted by itself would be
// `workers` times too loose, or refuse a namespace that another worker holds.
//
// How the workers know cheaply: they receive one small `limits` message when the verdict changes (the table
// became full or is no longer, an address reached its limit or fell below it), never per connection, and
// check a boolean and a Set on each stream request. While the table is full, a worker still admits viewers
// of namespaces it knows to be live (its own rooms and what the others hold, which the primary tells it
// anyway): only new namespaces are refused. The price of deciding in the primary is the report tick: what
// arrives within one tick (~100 ms) of reaching a limit can pass it, then the next requests are refused.
// That overshoot is bounded by one tick of arrivals, which is what a limit against unbounded growth needs.
import { logWarning } from '../log.js';
import type { PrimaryMessage } from '../protocol/ipc.js';

/** At most one warning line per limit in this interval: a flood against a limit must not flood the log. */
export const LIMIT_WARNING_INTERVAL_MS = 60_000;

type LimitsMessage = Extract<PrimaryMessage, { type: 'limits' }>;

export class AdmissionLimits {
  private namespacesFull = false;
  private readonly fullAddresses = new Set<string>();
  private changed = false;
  private readonly warnedAt = { namespaces: -Infinity, addresses: -Infinity };

  constructor(private readonly maxNamespaces: number, private readonly maxConnsPerIp: number, private readonly warn: (line: string) => void = logWarning) {}

  /** The table now holds `count` namespaces. */
  namespaces(count: number, now: number): void {
    const full = count >= this.maxNamespaces;
    if (full === this.namespacesFull) return;
    this.namespacesFull = full;
    this.changed = true;
    if (full) this.warnOnce('namespaces', now, `${count} namespaces reached --max-namespaces ${this.maxNamespaces}: new namespaces get 503 until empty ones are deleted`);
  }

  /** `address` now holds `open` streams on this node. */
  address(address: string, open: number, now: number): void {
    if (this.maxConnsPerIp === 0) return;
    const full = open >= this.maxConnsPerIp;
    if (full === this.fullAddresses.has(address)) return;
    if (full) this.fullAddresses.add(address);
    else this.fullAddresses.delete(address);
    this.changed = true;
    if (full) this.warnOnce('addresses', now, `${address} reached --max-conns-per-ip ${this.maxConnsPerIp}: its new streams get 503 (${this.fullAddresses.size} address(es) at the limit)`);
  }

  /** The message for every worker when the verdict changed since the last call. */
  takeChange(): LimitsMessage | undefined {
    if (!this.changed) return undefined;
    this.changed = false;
    return this.current();
  }

  /** The verdict now, for a worker that just started. */
  current(): LimitsMessage {
    return { type: 'limits', namespacesFull: this.namespacesFull, fullAddresses: [...this.fullAddresses] };
  }

  private warnOnce(limit: 'namespaces' | 'addresses', now: number, line: string): void {
    if (now - this.warnedAt[limit] < LIMIT_WARNING_INTERVAL_MS) return;
    this.warnedAt[limit] = now;
    this.warn(line);
  }
}
