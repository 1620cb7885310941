// This worker's copy of the node's limit verdict (decided by the primary: see primary/admission-limits.ts),
// checked on every stream request before anything else costs: a boolean and a Set lookup.

export const TOO_MANY_NAMESPACES = 'too many namespaces on this server (--max-namespaces); try again later';
export const TOO_MANY_CONNECTIONS = 'too many connections from this address (--max-conns-per-ip)';

export class Limits {
  private namespacesFull = false;
  private fullAddresses = new Set<string>();

  /** `isLive(ns)`: whether the namespace has viewers somewhere (such a namespace is never refused). */
  constructor(private readonly isLive: (ns: string) => boolean) {}

  update(namespacesFull: boolean, fullAddresses: string[]): void {
    this.namespacesFull = namespacesFull;
    this.fullAddresses = new Set(fullAddresses);
  }

  /** Why a stream to `ns` from `ip` is refused (503), or undefined when it may open. */
  refusal(ns: string, ip: string | null): string | undefined {
    if (ip !== null && this.fullAddresses.has(ip)) return TOO_MANY_CONNECTIONS;
    if (this.namespacesFull && !this.isLive(ns)) return TOO_MANY_NAMESPACES;
    return undefined;
  }
}
