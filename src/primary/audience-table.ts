// The audience of every namespace: the sum of what each live source (a worker, later a peer node) says it
// holds right now. Sources report absolute counts, so dropping a dead source is one subtraction per
// namespace it held and the totals are true again.

export interface NamespaceRecord {
  readonly name: string;
  /** ms since epoch */
  readonly created: number;
  /** Viewers counted since the namespace was created. */
  connections: number;
  /** Viewers now, summed over every source. */
  members: number;
  /** ms since epoch of the last count push, 0 before the first. */
  modified: number;
  /** Members at the last count push: the notifier's reference point. */
  lastPushed: number;
  /** ms since epoch when members reached zero, undefined while anyone watches. */
  emptySince: number | undefined;
}

/** The JSON object of the stats port, 2.x field names, UNIX seconds. */
export type StatsSnapshot = Record<string, { created: number; connections: number; members: number; modified: number }>;

export class AudienceTable {
  readonly namespaces = new Map<string, NamespaceRecord>();
  /** source id → namespace → members that source holds */
  private readonly sources = new Map<string, Map<string, number>>();
  /** Namespaces whose members changed since takeChanged() was last called. */
  private changed = new Set<string>();

  /** Records a source's absolute member count for one namespace. */
  setMembers(source: string, ns: string, members: number, now: number): void {
    let held = this.sources.get(source);
    const previous = held?.get(ns) ?? 0;
    if (members === previous) return;
    if (!held) {
      held = new Map();
      this.sources.set(source, held);
    }
    if (members === 0) held.delete(ns);
    else held.set(ns, members);
    this.adjust(ns, members - previous, now);
  }

  addConnections(ns: string, count: number, now: number): void {
    if (count > 0) this.recordFor(ns, now).connections += count;
  }

  /** Forgets everything a source held: a worker that died, a node that went silent or said goodbye. */
  dropSource(source: string, now: number): void {
    const held = this.sources.get(source);
    if (!held) return;
    this.sources.delete(source);
    for (const [ns, members] of held) this.adjust(ns, -members, now);
  }

  /** Members of `ns` held by every source except `source`. */
  othersMembers(ns: string, source: string): number {
    const total = this.namespaces.get(ns)?.members ?? 0;
    return total - (this.sources.get(source)?.get(ns) ?? 0);
  }

  takeChanged(): Set<string> {
    const changed = this.changed;
    this.changed = new Set();
    return changed;
  }

  /** Deletes namespaces empty for at least `cleanDelayMs` (2.x meant to, but deleted the wrong key). */
  sweep(now: number, cleanDelayMs: number): string[] {
    const deleted: string[] = [];
    for (const record of this.namespaces.values()) {
      if (record.emptySince !== undefined && now - record.emptySince >= cleanDelayMs) {
        this.namespaces.delete(record.name);
        deleted.push(record.name);
      }
    }
    return deleted;
  }

  snapshot(): StatsSnapshot {
    const stats: StatsSnapshot = {};
    for (const r of this.namespaces.values()) {
      stats[r.name] = { created: seconds(r.created), connections: r.connections, members: r.members, modified: seconds(r.modified) };
    }
    return stats;
  }

  private adjust(ns: string, delta: number, now: number): void {
    const record = this.recordFor(ns, now);
    record.members += delta;
    record.emptySince = record.members === 0 ? now : undefined;
    this.changed.add(ns);
  }

  private recordFor(ns: string, now: number): NamespaceRecord {
    let record = this.namespaces.get(ns);
    if (!record) {
      record = { name: ns, created: now, connections: 0, members: 0, modified: 0, lastPushed: 0, emptySince: now };
      this.namespaces.set(ns, record);
    }
    return record;
  }
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}
