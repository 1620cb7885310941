// The audience of every namespace: the sum of what each live source (a worker of this node, or a peer
// node) says it holds right now. Sources report absolute counts, so dropping a dead source is one
// subtraction per namespace it held and the totals are true again.

export interface NamespaceRecord {
  readonly name: string;
  /** ms since epoch */
  readonly created: number;
  /** Viewers counted since the namespace was created: this node's joins plus what each live peer advertises. */
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

/** The table's own record: the totals, and this node's part of them, which it advertises to its peers. */
export interface TableRecord extends NamespaceRecord {
  /** The part of `members` held by this node's workers. */
  localMembers: number;
  /** Joins counted by this node's workers since the namespace was created here. */
  localConnections: number;
}

/** The JSON object of the stats port, 2.x field names, UNIX seconds. */
export interface NamespaceStats { created: number; connections: number; members: number; modified: number; users: number }
export type StatsSnapshot = Record<string, NamespaceStats>;

/**
 * What one source holds: per namespace, its members, and for a peer the joins it advertises (a worker's joins
 * are counted by addConnections, not here). Two maps of small integers rather than one map of {members,
 * connections} objects: a flood of one-viewer namespaces then leaves no object per namespace and source in
 * the heap, only map entries (BENCHMARKS.md, namespace floods). A namespace absent from both holds nothing.
 */
interface Source {
  /** A worker of this node, as opposed to a peer node. */
  readonly local: boolean;
  readonly members: Map<string, number>;
  /** Empty for a worker. */
  readonly connections: Map<string, number>;
}

export class AudienceTable {
  readonly namespaces = new Map<string, TableRecord>();
  private readonly sources = new Map<string, Source>();
  /** Namespaces whose members changed since takeChanged() was last called. */
  private changed = new Set<string>();
  /**
   * Namespaces whose own part (localMembers, localConnections) changed since takeLocalChanges() was last
   * called, so a transport that sends only this node's changes pays for those, not for its unchanged state.
   * Undefined until the first take: nobody consumes it (multicast, a single node), so it must not grow.
   */
  private localChanged: Set<string> | undefined;

  /** Records a local source's (a worker's) absolute member count for one namespace. */
  setMembers(source: string, ns: string, members: number, now: number): void {
    this.setHeld(source, true, ns, members, 0, now);
  }

  /**
   * Records what a peer node advertises for one namespace, its own members and joins, in place of what it
   * advertised before. A namespace deleted here is not brought back by a peer that still holds it empty.
   */
  setPeerCounts(source: string, ns: string, members: number, connections: number, now: number): void {
    if (members === 0 && !this.namespaces.has(ns)) return;
    this.setHeld(source, false, ns, members, connections, now);
  }

  /** Joins counted by this node's workers. */
  addConnections(ns: string, count: number, now: number): void {
    if (count <= 0) return;
    const record = this.recordFor(ns, now);
    record.connections += count;
    record.localConnections += count;
    this.localChanged?.add(ns);
  }

  /** Forgets everything a source held: a worker that died, a node that went silent or said goodbye. */
  dropSource(source: string, now: number): void {
    const dropped = this.sources.get(source);
    if (!dropped) return;
    this.sources.delete(source);
    // forEach, not for…of over entries: no [key, value] pair allocated per namespace.
    dropped.members.forEach((members, ns) => this.adjust(ns, dropped.local, -members, -(dropped.connections.get(ns) ?? 0), now));
    dropped.connections.forEach((connections, ns) => {
      if (!dropped.members.has(ns)) this.adjust(ns, dropped.local, 0, -connections, now);
    });
  }

  /** Members held by `source` over all namespaces (a worker's open, counted streams). */
  membersOf(source: string): number {
    let members = 0;
    for (const count of this.sources.get(source)?.members.values() ?? []) members += count;
    return members;
  }

  /** Members of `ns` held by every source except `source`. */
  othersMembers(ns: string, source: string): number {
    const total = this.namespaces.get(ns)?.members ?? 0;
    return total - (this.sources.get(source)?.members.get(ns) ?? 0);
  }

  /** This node's own counts, [namespace, members, joins], for its peers: never what peers advertised. */
  localCounts(): [ns: string, members: number, connections: number][] {
    const counts: [string, number, number][] = [];
    for (const r of this.namespaces.values()) {
      if (r.localMembers > 0 || r.localConnections > 0) counts.push([r.name, r.localMembers, r.localConnections]);
    }
    return counts;
  }

  /**
   * This node's own counts of the namespaces whose own part changed since the last call, [ns, members,
   * joins] as they are now ([ns, 0, 0]: no longer held here, or deleted). Tracking starts with the first
   * call, so its caller asserts the whole state (localCounts) together with that first call.
   */
  takeLocalChanges(): [ns: string, members: number, connections: number][] {
    const taken = this.localChanged ?? new Set<string>();
    this.localChanged = new Set();
    return Array.from(taken, (ns) => {
      const r = this.namespaces.get(ns);
      return r ? [ns, r.localMembers, r.localConnections] : [ns, 0, 0];
    });
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
        if (record.localConnections > 0) this.localChanged?.add(record.name);
        // Peers may still advertise it empty with their joins: a later record must not start from those.
        for (const source of this.sources.values()) {
          source.members.delete(record.name);
          source.connections.delete(record.name);
        }
        deleted.push(record.name);
      }
    }
    return deleted;
  }

  /** `usersIn`: distinct identified users watching a namespace now (the session registry knows them). */
  snapshot(usersIn: (ns: string) => number = () => 0): StatsSnapshot {
    return Object.fromEntries(this.stats(usersIn));
  }

  /** Each namespace's 2.x counters, read one at a time (the stats port writes them as it reads them). */
  *stats(usersIn: (ns: string) => number = () => 0): Generator<[string, NamespaceStats]> {
    for (const r of this.namespaces.values()) {
      yield [r.name, { created: seconds(r.created), connections: r.connections, members: r.members, modified: seconds(r.modified), users: usersIn(r.name) }];
    }
  }

  private setHeld(sourceId: string, local: boolean, ns: string, members: number, connections: number, now: number): void {
    let source = this.sources.get(sourceId);
    const deltaMembers = members - (source?.members.get(ns) ?? 0);
    const deltaConnections = connections - (source?.connections.get(ns) ?? 0);
    if (deltaMembers === 0 && deltaConnections === 0) return;
    if (!source) {
      source = { local, members: new Map(), connections: new Map() };
      this.sources.set(sourceId, source);
    }
    setOrDelete(source.members, ns, members);
    setOrDelete(source.connections, ns, connections);
    this.adjust(ns, source.local, deltaMembers, deltaConnections, now);
  }

  private adjust(ns: string, local: boolean, deltaMembers: number, deltaConnections: number, now: number): void {
    const record = this.recordFor(ns, now);
    record.connections += deltaConnections;
    if (deltaMembers === 0) return;
    record.members += deltaMembers;
    if (local) {
      record.localMembers += deltaMembers;
      this.localChanged?.add(ns);
    }
    record.emptySince = record.members === 0 ? now : undefined;
    this.changed.add(ns);
  }

  private recordFor(ns: string, now: number): TableRecord {
    let record = this.namespaces.get(ns);
    if (!record) {
      record = { name: ns, created: now, connections: 0, members: 0, localMembers: 0, localConnections: 0, modified: 0, lastPushed: 0, emptySince: now };
      this.namespaces.set(ns, record);
    }
    return record;
  }
}

/** A count of zero is no entry, so a map holds only the namespaces where its source has something. */
function setOrDelete(counts: Map<string, number>, ns: string, count: number): void {
  if (count === 0) counts.delete(ns);
  else counts.set(ns, count);
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}
