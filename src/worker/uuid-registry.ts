// --enable-uuid: one stream per uuid across the whole cluster. The newest stream wins: locally at once, and
// on other workers through exclusions relayed by the primary. An entry lives exactly as long as its stream,
// so the registry cannot leak (2.x's did).
import { PLAIN_REQUEST_WORKER, type Exclusion } from '../protocol/ipc.js';
import type { Viewer } from './viewer.js';


export class UuidRegistry {
  private readonly holders = new Map<string, Viewer>();
  private outgoing: Exclusion[] = [];

  constructor(private readonly workerId: number) {}

  /** A new stream with a uuid: the one it replaces here ends, the other workers are told. */
  claim(viewer: Viewer & { uuid: string }): void {
    this.holders.get(viewer.uuid)?.end();
    this.holders.set(viewer.uuid, viewer);
    this.outgoing.push({ uuid: viewer.uuid, at: viewer.openedAt, worker: this.workerId });
  }

  /** A plain request to /{ns}/{uuid}: ends that uuid's streams everywhere without opening one. */
  endEverywhere(uuid: string, now: number): void {
    this.holders.get(uuid)?.end();
    this.outgoing.push({ uuid, at: now, worker: PLAIN_REQUEST_WORKER });
  }

  release(viewer: Viewer): void {
    if (viewer.uuid !== undefined && this.holders.get(viewer.uuid) === viewer) this.holders.delete(viewer.uuid);
  }

  /** Exclusions from other workers: a local stream ends if it is older (ties: the lower worker id yields). */
  applyRemote(exclusions: Exclusion[]): void {
    for (const { uuid, at, worker } of exclusions) {
      const holder = this.holders.get(uuid);
      if (holder && (holder.openedAt < at || (holder.openedAt === at && this.workerId < worker))) holder.end();
    }
  }

  takeOutgoing(): Exclusion[] {
    const outgoing = this.outgoing;
    this.outgoing = [];
    return outgoing;
  }
}
