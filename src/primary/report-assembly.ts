// A worker's report comes in parts when it is large (src/worker/report-parts.ts: each IPC message stays below V8's
// large-object size); every part but the last says `more`. The primary puts the parts back together and acts on
// the whole report at once, as it did on one message: the session registry, for one, takes a report's exits of
// known sessions before its entries, so a device that left within the tick makes room for the one that came.
// The parts of one report arrive back to back (the worker writes them together), so little waits here; a
// worker that dies between two parts leaves what came, which is still acted on (takePartial()), and a worker
// that never sends a last part cannot grow this without bound: past MAX_PENDING_PARTS what came is a report.
import type { WorkerReport as Report } from '../protocol/ipc.js';
import { debugFor } from '../log.js';

const debug = debugFor('reports');

/** 1,024 parts of about 64 KB: a report of 64 MB of JSON, far past any tick's (1.5 MB when a primary fell behind). */
export const MAX_PENDING_PARTS = 1024;

export class ReportAssembly {
  private readonly pending = new Map<number, Report[]>();

  /** The whole report once its last part came (or the bound was reached), else undefined. */
  add(workerId: number, part: Report): Report | undefined {
    const parts = this.pending.get(workerId);
    if (!parts) {
      if (!part.more) return part;
      this.pending.set(workerId, [part]);
      return undefined;
    }
    parts.push(part);
    if (part.more && parts.length < MAX_PENDING_PARTS) return undefined;
    return this.takePartial(workerId);
  }

  /** What came of a report still in parts, as one report (a worker died between two parts), and forgets it. */
  takePartial(workerId: number): Report | undefined {
    const parts = this.pending.get(workerId);
    if (!parts) return undefined;
    this.pending.delete(workerId);
    debug('a report of worker %d in %d parts', workerId, parts.length);
    const report: Report = { type: 'report', entries: [], exclusions: [], entered: [], exited: [] };
    for (const part of parts) {
      for (const e of part.entries) report.entries.push(e);
      for (const e of part.exclusions) report.exclusions.push(e);
      for (const e of part.entered) report.entered.push(e);
      for (const e of part.exited) report.exited.push(e);
      if (part.feed) (report.feed ??= []).push(...part.feed);
      if (part.addresses) (report.addresses ??= []).push(...part.addresses);
    }
    return report;
  }
}
