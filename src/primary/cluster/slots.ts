// A bound on concurrent work: the Redis transport reads at most a few other nodes' whole states at a time,
// so that a mass join is read at the node's own pace instead of all at once.
/** At most `free` tasks at a time; the others wait their turn, in order. */
export class Slots {
  private readonly waiting: (() => void)[] = [];
  constructor(private free: number) {}
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}
