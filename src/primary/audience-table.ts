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
 * What a peer node holds: per namespace, its members and the joins it advertises. Maps of small integers
 * with entries only where it holds something. A worker's part is a column of the table's rows instead (see
 * AudienceTable.workerColumns).
 */
interface PeerHoldings {
  readonly members: Map<string, number>;
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
/** The fields above; each worker's members come after them, a column per worker (workerColumns). */
const FIELDS = 8;

/** Records handed to `visit` one at a time: the table's rows (NamespaceRecords.forEach) or a plain array. */
export interface RecordVisits<R> {
  forEach(visit: (record: R) => void): void;
}

/**
 * The namespaces as records, read-only. The table keeps rows of numbers, not objects: get() makes a copy,
 * which a caller may keep; forEach() reads the rows in place, for the passes over every namespace.
 */
export class NamespaceRecords implements RecordVisits<TableRecord> {
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

  keys(): Generator<string> {
    return this.rows.keys();
  }

  /**
   * Hands every namespace to `visit`, in row order, as one view reused for the whole pass: its getters read
   * the row of the namespace being visited, so **it is valid only during the call that receives it** (a view
   * kept past its call throws when read). Nothing is allocated per namespace: the push check, the chart's
   * samples and the metrics run this over every namespace every few seconds, and a copy per namespace there
   * was 50,000 objects a second in a flood's primary. A caller that keeps a record takes get()'s copy.
   * Deleting namespaces meanwhile is allowed.
   */
  forEach(visit: (record: TableRecord) => void): void {
    const view = new RowView(this.rows);
    try {
      this.rows.forEach((row, ns) => {
        view.show(ns, row);
        visit(view);
      });
    } finally {
      view.show('', -1);
    }
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

/** NamespaceRecords.forEach's view: the record of the row it is moved to, read at each access. */
class RowView implements TableRecord {
  private ns = '';
  /** -1 once its pass is over. */
  private row = -1;

  constructor(private readonly rows: NamespaceRows) {}

  show(ns: string, row: number): void {
    this.ns = ns;
    this.row = row;
  }

  get name(): string {
    this.check();
    return this.ns;
  }

  get created(): number {
    return this.field(CREATED);
  }

  get connections(): number {
    return this.field(CONNECTIONS);
  }

  get members(): number {
    return this.field(MEMBERS);
  }

  get modified(): number {
    return this.field(MODIFIED);
  }

  get lastPushed(): number {
    return this.field(LAST_PUSHED);
  }

  get emptySince(): number | undefined {
    const emptySince = this.field(EMPTY_SINCE);
    return Number.isNaN(emptySince) ? undefined : emptySince;
  }

  get localMembers(): number {
    return this.field(LOCAL_MEMBERS);
  }

  get localConnections(): number {
    return this.field(LOCAL_CONNECTIONS);
  }

  private field(field: number): number {
    this.check();
    return this.rows.get(this.row, field);
  }

  /** A programming error, not an input's: a caller kept the view past its visit instead of taking get(). */
  private check(): void {
    if (this.row < 0) throw new Error('a namespace record view was read after its visit (keep table.namespaces.get() instead)');
  }
}

export class AudienceTable {
  private readonly rows = new NamespaceRows(FIELDS);
  readonly namespaces = new NamespaceRecords(this.rows);
  /**
   * Each live worker's column in the rows: its members per namespace. A worker's counts change with every
   * viewer, so a map per worker from namespace to count would insert and delete an entry per viewer, and
   * V8 reallocates a map's table as entries come and go: a flood left megabytes of those tables in the old
   * generation (BENCHMARKS.md, namespace floods). A column costs nothing per namespace. Freed columns (a dead
   * worker's, zeroed) are reused by the next worker, so the rows are as wide as the most workers at once.
   */
  private readonly workerColumns = new Map<string, number>();
  private readonly freeColumns: number[] = [];
  private readonly peers = new Map<string, PeerHoldings>();
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
    const column = this.columnOf(source);
    let row = this.rows.row(ns);
    const delta = members - (row === undefined ? 0 : this.rows.get(row, column));
    if (delta === 0) return;
    row ??= this.rowFor(ns, now);
    this.rows.set(row, column, members);
    this.adjust(ns, true, delta, 0, now);
  }

  /**
   * Records what a peer node advertises for one namespace, its own members and joins, in place of what it
   * advertised before. A namespace deleted here is not brought back by a peer that still holds it empty.
   */
  setPeerCounts(source: string, ns: string, members: number, connections: number, now: number): void {
    if (members === 0 && this.rows.row(ns) === undefined) return;
    let peer = this.peers.get(source);
    const deltaMembers = members - (peer?.members.get(ns) ?? 0);
    const deltaConnections = connections - (peer?.connections.get(ns) ?? 0);
    if (deltaMembers === 0 && deltaConnections === 0) return;
    if (!peer) {
      peer = { members: new Map(), connections: new Map() };
      this.peers.set(source, peer);
    }
    setOrDelete(peer.members, ns, members);
    setOrDelete(peer.connections, ns, connections);
    this.adjust(ns, false, deltaMembers, deltaConnections, now);
  }

  /** Joins counted by this node's workers. */
  addConnections(ns: string, count: number, now: number): void {
    if (count <= 0) return;
    const row = this.rowFor(ns, now);
    this.rows.addTo(row, CONNECTIONS, count);
    this.rows.addTo(row, LOCAL_CONNECTIONS, count);
    this.localChanged?.add(ns);
    this.inUse(row, now);
  }

  /** Forgets everything a source held: a worker that died, a node that went silent or said goodbye. */
  dropSource(source: string, now: number): void {
    const column = this.workerColumns.get(source);
    if (column !== undefined) {
      this.workerColumns.delete(source);
      this.rows.forEach((row, ns) => {
        const members = this.rows.get(row, column);
        if (members === 0) return;
        this.rows.set(row, column, 0);
        this.adjust(ns, true, -members, 0, now);
      });
      this.freeColumns.push(column);
      return;
    }
    const dropped = this.peers.get(source);
    if (!dropped) return;
    this.peers.delete(source);
    // forEach, not for…of over entries: no [key, value] pair allocated per namespace.
    dropped.members.forEach((members, ns) => this.adjust(ns, false, -members, -(dropped.connections.get(ns) ?? 0), now));
    dropped.connections.forEach((connections, ns) => {
      if (!dropped.members.has(ns)) this.adjust(ns, false, 0, -connections, now);
    });
  }

  /** Members held by `source` over all namespaces (a worker's open, counted streams). */
  membersOf(source: string): number {
    let members = 0;
    const column = this.workerColumns.get(source);
    if (column !== undefined) this.rows.forEach((row) => { members += this.rows.get(row, column); });
    else for (const count of this.peers.get(source)?.members.values() ?? []) members += count;
    return members;
  }

  /** Members of `ns` held by every source except `source`. */
  othersMembers(ns: string, source: string): number {
    const row = this.rows.row(ns);
    if (row === undefined) return 0;
    const column = this.workerColumns.get(source);
    const own = column !== undefined ? this.rows.get(row, column) : this.peers.get(source)?.members.get(ns) ?? 0;
    return this.rows.get(row, MEMBERS) - own;
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
      // (Its workers' columns are 0: it is empty.)
      for (const peer of this.peers.values()) {
        peer.members.delete(ns);
        peer.connections.delete(ns);
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

  /** The column of a worker's members, a free one (or a new one) at its first report. */
  private columnOf(source: string): number {
    let column = this.workerColumns.get(source);
    if (column === undefined) {
      column = this.freeColumns.pop();
      if (column === undefined) {
        column = this.rows.fields;
        this.rows.widen();
      }
      this.workerColumns.set(source, column);
    }
    return column;
  }

  private adjust(ns: string, local: boolean, deltaMembers: number, deltaConnections: number, now: number): void {
    const row = this.rowFor(ns, now);
    const r = this.rows;
    if (deltaConnections !== 0) r.addTo(row, CONNECTIONS, deltaConnections);
    if (deltaMembers !== 0) {
      r.addTo(row, MEMBERS, deltaMembers);
      if (local) {
        r.addTo(row, LOCAL_MEMBERS, deltaMembers);
        this.localChanged?.add(ns);
      }
      this.changed.add(ns);
    }
    if (deltaMembers !== 0 || deltaConnections > 0) this.inUse(row, now);
  }

  /**
   * A namespace was in use at `now` (its members changed, or viewers joined): it is empty from now on, or
   * not empty. Joins count too: viewers who came and went between two reports leave the members unchanged,
   * and a namespace that busy must not be swept (its `connections` would restart from 0).
   */
  private inUse(row: number, now: number): void {
    this.rows.set(row, EMPTY_SINCE, this.rows.get(row, MEMBERS) === 0 ? now : NaN);
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
