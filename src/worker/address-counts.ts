// This worker's open streams per client address, for --max-conns-per-ip (decided in the primary, which sums
// the workers' counts: primary/address-table.ts). Absolute counts of the addresses that changed go in the
// next report (DESIGN principle 1). Kept only with the limit on: each open stream's address by its
// connection number, so its exit finds it.
import type { AddressEntry } from '../protocol/ipc.js';

export class AddressCounts {
  private readonly addressOf = new Map<number, string>();
  private readonly open = new Map<string, number>();
  private readonly changed = new Set<string>();

  add(connection: number, ip: string | null): void {
    if (ip === null) return;
    this.addressOf.set(connection, ip);
    this.count(ip, 1);
  }

  remove(connection: number): void {
    const ip = this.addressOf.get(connection);
    if (ip === undefined) return;
    this.addressOf.delete(connection);
    this.count(ip, -1);
  }

  /** Streams this worker holds from `ip` right now (the primary's verdict lags by a report tick). */
  openFrom(ip: string): number {
    return this.open.get(ip) ?? 0;
  }

  take(): AddressEntry[] {
    const entries: AddressEntry[] = [];
    for (const ip of this.changed) entries.push([ip, this.open.get(ip) ?? 0]);
    this.changed.clear();
    return entries;
  }

  private count(ip: string, delta: number): void {
    const open = (this.open.get(ip) ?? 0) + delta;
    if (open > 0) this.open.set(ip, open);
    else this.open.delete(ip);
    this.changed.add(ip);
  }
}
