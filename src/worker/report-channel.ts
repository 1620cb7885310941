// The worker's reports to the primary, at most one on its way at a time. A report is built only once the one
// before it has been handed to the IPC channel; until then what changed keeps gathering where it is kept
// (the hub's changed rooms, the sessions' entries and exits, the uuids' exclusions…), so a primary slower
// than its workers gets fewer, larger reports, each with the latest absolute counts (DESIGN principle 1),
// instead of a queue of serialized reports in the worker's IPC channel. That queue was the churn ratchet: at
// 8,000 connect/disconnect cycles per second the primary fell behind, every 100 ms tick queued another report
// in native memory outside the JavaScript heap, the workers' RSS doubled, and the stats port counted the last
// leaves 15–30 s late, behind reports whose counts were long stale (BENCHMARKS.md, issue 12).
export class ReportChannel<M> {
  private onTheWay = false;
  private readonly afterThis: Array<() => void> = [];

  /**
   * `take` builds the next report from what gathered since the last one, undefined when nothing did;
   * `send` hands it to the channel and calls `sent` once it is written (or was dropped: no primary).
   */
  constructor(
    private readonly take: () => M | undefined,
    private readonly send: (message: M, sent: () => void) => void,
  ) {}

  /** Whether a report is written but not yet handed over. */
  get busy(): boolean {
    return this.onTheWay;
  }

  /** The tick: the next report, unless the last one is still on its way (it then goes at a later tick). */
  tick(): void {
    if (!this.onTheWay) this.sendNext(undefined);
  }

  /** The last report, after the one on its way if any; `done` once it is handed over (or there was nothing). */
  last(done: () => void): void {
    if (this.onTheWay) this.afterThis.push(() => this.last(done));
    else this.sendNext(done);
  }

  private sendNext(done: (() => void) | undefined): void {
    const message = this.take();
    if (message === undefined) {
      done?.();
      return;
    }
    this.onTheWay = true;
    this.send(message, () => {
      this.onTheWay = false;
      done?.();
      for (const next of this.afterThis.splice(0)) next();
    });
  }
}
