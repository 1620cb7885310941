// The audience of every namespace: the sum of what each live source (a worker of this node, or a peer
// node) says it holds right now. Sources report absolute counts, so dropping a dead source is one
// subtraction per namespace it held and the totals are true again.

import { NamespaceRows } from './namespace-rows.js';

/** One namespace's counters as the table holds them now: a copy, which later changes do not touch. */
export interface NamespaceRecord {
  readonly name: string;
  /** ms since epoch */
  readonly created: number;
  /** Viewers counted since the namespace was created: this node's joins plus what each live peer advertises. */
  readonly connections: number;
  /** Viewers now, summed over every source. */
  readonly members: number;
  /** ms since epoch of the last count push, 0 before the first. */
  readonly modified: number;
  /** Members at the last count push: the notifier's reference point. */
  readonly lastPushed: number;
  /** ms since epoch when members reached zero, undefined while anyone watches. */
  readonly emptySince: number | undefined;
}

/** The table's own record: the totals, and this node's part of them, which it advertises to its peers. */
export interface TableRecord extends NamespaceRecord {
  /** The part of `members` held by this node's workers. */
  readonly localMembers: number;
  /** Joins counted by this node's workers since the namespace was created here. */
  readonly localConnections: number;
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

/** Where each number of a namespace is in its row (namespace-rows.ts). emptySince is NaN while anyone watches. */
const CREATED = 0;
const CONNECTIONS = 1;
const MEMBERS = 2;
const MODIFIED = 3;
const LAST_PUSHED = 4;
const EMPTY_SINCE = 5;
const LOCAL_MEMBERS = 6;
const LOCAL_CONNECTIONS = 7;
const FIELDS = 8;

/**
 * The namespaces as records, read-only: each record is a copy made when asked for (the table keeps rows of
 * numbers, not objects), so a caller that keeps one keeps what it was.
 */
export class NamespaceRecords {
  constructor(private readonly rows: NamespaceRows) {}

  get size(): number {
    return this.rows.size;
  }

  has(ns: string): boolean {
    return this.rows.row(ns) !== undefined;
  }

  get(ns: string): TableRecord | undefined {
    const row = this.rows.row(ns);
    return row === undefined ? undefined : this.record(ns, row);
  }

  keys(): IterableIterator<string> {
    return this.rows.names();
  }

  *values(): Generator<TableRecord> {
    for (const [ns, row] of this.rows.entries()) yield this.record(ns, row);
  }

  private record(name: string, row: number): TableRecord {
    const r = this.rows;
    const emptySince = r.get(row, EMPTY_SINCE);
    return {
      name,
      created: r.get(row, CREATED),
      connections: r.get(row, CONNECTIONS),
      members: r.get(row, MEMBERS),
      modified: r.get(row, MODIFIED),
      lastPushed: r.get(row, LAST_PUSHED),
      emptySince: Number.isNaN(emptySince) ? undefined : emptySince,
      localMembers: r.get(row, LOCAL_MEMBERS),
      localConnections: r.get(row, LOCAL_CONNECTIONS),
    };
  }
}

export class AudienceTable {
  private readonly rows = new NamespaceRows(FIELDS);
  readonly namespaces = new NamespaceRecords(this.rows);
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
    if (members === 0 && this.rows.row(ns) === undefined) return;
    this.setHeld(source, false, ns, members, connections, now);
  }

  /** Joins counted by this node's workers. */
  addConnections(ns: string, count: number, now: number): void {
    if (count <= 0) return;
    const row = this.rowFor(ns, now);
    this.rows.addTo(row, CONNECTIONS, count);
    this.rows.addTo(row, LOCAL_CONNECTIONS, count);
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
    const row = this.rows.row(ns);
    const total = row === undefined ? 0 : this.rows.get(row, MEMBERS);
    return total - (this.sources.get(source)?.members.get(ns) ?? 0);
  }

  /** Viewers held by this node's workers, all namespaces. */
  localMembers(): number {
    let total = 0;
    this.rows.forEach((row) => { total += this.rows.get(row, LOCAL_MEMBERS); });
    return total;
  }

  /** This node's own counts, [namespace, members, joins], for its peers: never what peers advertised. */
  localCounts(): [ns: string, members: number, connections: number][] {
    const counts: [string, number, number][] = [];
    this.rows.forEach((row, ns) => {
      const members = this.rows.get(row, LOCAL_MEMBERS);
      const connections = this.rows.get(row, LOCAL_CONNECTIONS);
      if (members > 0 || connections > 0) counts.push([ns, members, connections]);
    });
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
      const row = this.rows.row(ns);
      return row === undefined ? [ns, 0, 0] : [ns, this.rows.get(row, LOCAL_MEMBERS), this.rows.get(row, LOCAL_CONNECTIONS)];
    });
  }

  takeChanged(): Set<string> {
    const changed = this.changed;
    this.changed = new Set();
    return changed;
  }

  /** The notifier pushed these counts now: each one's reference point and time (collectPushes). */
  pushed(pushes: Iterable<readonly [ns: string, members: number]>, now: number): void {
    for (const [ns, members] of pushes) {
      const row = this.rows.row(ns);
      if (row === undefined) continue;
      this.rows.set(row, LAST_PUSHED, members);
      this.rows.set(row, MODIFIED, now);
    }
  }

  /** Deletes namespaces empty for at least `cleanDelayMs` (2.x meant to, but deleted the wrong key). */
  sweep(now: number, cleanDelayMs: number): string[] {
    const deleted: string[] = [];
    this.rows.forEach((row, ns) => {
      // NaN (someone watches) is never old enough.
      if (!(now - this.rows.get(row, EMPTY_SINCE) >= cleanDelayMs)) return;
      if (this.rows.get(row, LOCAL_CONNECTIONS) > 0) this.localChanged?.add(ns);
      this.rows.delete(ns);
      // Peers may still advertise it empty with their joins: a later record must not start from those.
      for (const source of this.sources.values()) {
        source.members.delete(ns);
        source.connections.delete(ns);
      }
      deleted.push(ns);
    });
    this.rows.shrinkIfSparse();
    return deleted;
  }

  /** `usersIn`: distinct identified users watching a namespace now (the session registry knows them). */
  snapshot(usersIn: (ns: string) => number = () => 0): StatsSnapshot {
    return Object.fromEntries(this.stats(usersIn));
  }

  /** Each namespace's 2.x counters, read one at a time (the stats port writes them as it reads them). */
  *stats(usersIn: (ns: string) => number = () => 0): Generator<[string, NamespaceStats]> {
    for (const [ns, row] of this.rows.entries()) {
      const r = this.rows;
      yield [ns, { created: seconds(r.get(row, CREATED)), connections: r.get(row, CONNECTIONS), members: r.get(row, MEMBERS), modified: seconds(r.get(row, MODIFIED)), users: usersIn(ns) }];
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
    const row = this.rowFor(ns, now);
    const r = this.rows;
    r.addTo(row, CONNECTIONS, deltaConnections);
    if (deltaMembers === 0) return;
    r.addTo(row, MEMBERS, deltaMembers);
    if (local) {
      r.addTo(row, LOCAL_MEMBERS, deltaMembers);
      this.localChanged?.add(ns);
    }
    r.set(row, EMPTY_SINCE, r.get(row, MEMBERS) === 0 ? now : NaN);
    this.changed.add(ns);
  }

  private rowFor(ns: string, now: number): number {
    let row = this.rows.row(ns);
    if (row === undefined) {
      row = this.rows.add(ns);
      this.rows.set(row, CREATED, now);
      this.rows.set(row, EMPTY_SINCE, now);
    }
    return row;
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
