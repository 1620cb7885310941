// Ids met lately, bounded in time and in number. An expulsion is announced to the other nodes at once and
// again every round for a while, so that a lost datagram is healed: the sender keeps the ids it must repeat,
// and each receiver the ids it has passed on already, so that a repeat is not news twice.
export class RecentIds {
  /** Id → when it was added (ms); a Map iterates in insertion order, so the oldest come first. */
  private readonly addedAt = new Map<string, number>();

  constructor(private readonly keepMs: number, private readonly max: number) {}

  /** Remembers `id`; false when it was remembered already. */
  add(id: string, now: number): boolean {
    this.forgetOld(now);
    if (this.addedAt.has(id)) return false;
    this.addedAt.set(id, now);
    if (this.addedAt.size > this.max) this.addedAt.delete(this.addedAt.keys().next().value!);
    return true;
  }

  /** Every id remembered, oldest first. */
  current(now: number): string[] {
    this.forgetOld(now);
    return [...this.addedAt.keys()];
  }

  private forgetOld(now: number): void {
    for (const [id, at] of this.addedAt) {
      if (now - at < this.keepMs) return;
      this.addedAt.delete(id);
    }
  }
}
