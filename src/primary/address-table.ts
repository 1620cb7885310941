// Open streams per client address on this node, for --max-conns-per-ip: the sum of what each worker reports
// of its own (absolute counts of the addresses that changed, worker/address-counts.ts), a dead worker's
// share dropped whole (DESIGN principle 1). One entry per address, none per viewer.
import type { AddressEntry } from '../protocol/ipc.js';

export class AddressTable {
  private readonly byWorker = new Map<number, Map<string, number>>();
  private readonly totals = new Map<string, number>();

  /** `onChange` hears each address's new count of open streams on this node. */
  constructor(private readonly onChange: (ip: string, open: number) => void) {}

  set(worker: number, entries: readonly AddressEntry[]): void {
    let own = this.byWorker.get(worker);
    if (!own) this.byWorker.set(worker, (own = new Map()));
    for (const [ip, open] of entries) this.update(own, ip, open);
  }

  dropWorker(worker: number): void {
    const own = this.byWorker.get(worker);
    if (!own) return;
    for (const ip of [...own.keys()]) this.update(own, ip, 0);
    this.byWorker.delete(worker);
  }

  private update(own: Map<string, number>, ip: string, open: number): void {
    const before = own.get(ip) ?? 0;
    if (open === before) return;
    if (open > 0) own.set(ip, open);
    else own.delete(ip);
    const total = (this.totals.get(ip) ?? 0) - before + open;
    if (total > 0) this.totals.set(ip, total);
    else this.totals.delete(ip);
    this.onChange(ip, total);
  }
}
