// This worker's copy of the node's limit verdict (decided by the primary: see primary/admission-limits.ts),
// checked on every stream request before anything else costs: a boolean and a Set lookup.
//
// The verdict arrives a report tick after the count reached the limit, and one client can open thousands of
// connections within a tick. So an address is also refused once this worker alone holds --max-conns-per-ip
// of its streams: a worker's own count never exceeds the node's, so this refuses nothing the primary would
// admit, and a burst passes the limit by at most (workers - 1) × the limit instead of by what fits in a tick.
import type { AddressCounts } from './address-counts.js';

export const TOO_MANY_NAMESPACES = 'too many namespaces on this server (--max-namespaces); try again later';
export const TOO_MANY_CONNECTIONS = 'too many connections from this address (--max-conns-per-ip)';

export class Limits {
  private namespacesFull = false;
  private fullAddresses = new Set<string>();

  /**
   * `isLive(ns)`: whether the namespace has viewers somewhere (such a namespace is never refused).
   * `perAddress`: with --max-conns-per-ip on, the limit and this worker's own open streams per address.
   */
  constructor(
    private readonly isLive: (ns: string) => boolean,
    private readonly perAddress?: { maxConnsPerIp: number; own: Pick<AddressCounts, 'openFrom'> },
  ) {}

  update(namespacesFull: boolean, fullAddresses: string[]): void {
    this.namespacesFull = namespacesFull;
    this.fullAddresses = new Set(fullAddresses);
  }

  /** Why a stream to `ns` from `ip` is refused (503), or undefined when it may open. */
  refusal(ns: string, ip: string | null): string | undefined {
    if (ip !== null && (this.fullAddresses.has(ip) || this.ownAtLimit(ip))) return TOO_MANY_CONNECTIONS;
    if (this.namespacesFull && !this.isLive(ns)) return TOO_MANY_NAMESPACES;
    return undefined;
  }

  private ownAtLimit(ip: string): boolean {
    return this.perAddress !== undefined && this.perAddress.own.openFrom(ip) >= this.perAddress.maxConnsPerIp;
  }
}
