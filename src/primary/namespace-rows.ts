// The numbers of every namespace the audience table holds: a row of `width` numbers per namespace in one
// Float64Array, the names in an array beside it, and an open-addressing hash index (an Int32Array) from a
// name to its row. No object per namespace, and nothing allocated per namespace but its name.
//
// Why not objects and a Map: a namespace lives seconds at least (a flood's, from its one viewer to the clean
// delay), long enough for V8 to move what it allocated for it into the old generation, where an idle primary
// then keeps a whole flood's worth until a full collection that may not come (BENCHMARKS.md, namespace
// floods). A record object per namespace was that, and so was a Map from name to row: V8 rebuilds a Map's
// table as entries come and go (deleted entries stay in it until the next rebuild), megabytes of tables per
// flood of 50,000 namespaces. Here rows are reused, the index deletes in place (linear probing with backward
// shift: no tombstones, nothing rebuilt until the rows grow or shrink), and the arrays, outside the heap, grow
// to the most namespaces held at once and shrink again once most rows are free.

/** Rows below which the arrays never shrink: 64 KB of numbers for a row of 8. */
const MIN_ROWS = 1024;
/** A row number in the index is stored + 1: 0 marks an empty slot. */
const EMPTY = 0;

/** FNV-1a over UTF-16 code units: cheap, and good enough spread for an index at most half full. */
function hashOf(ns: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < ns.length; i++) h = Math.imul(h ^ ns.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class NamespaceRows {
  private cells: Float64Array;
  /** names[row]: its namespace, undefined for a free row. */
  private names: (string | undefined)[] = [];
  /** hashes[row]: hashOf(names[row]), kept so that moving an index slot needs no string read. */
  private hashes: Uint32Array;
  /** Open addressing, twice as many slots as rows: slot → row + 1, or EMPTY. */
  private slots: Int32Array;
  /** Rows in use or freed so far (the next new one is number `used`). */
  private used = 0;
  private count = 0;
  /** Rows freed, reused first. */
  private free: number[] = [];
  /** Passes over the rows not finished yet: rows must not move under them (shrinkIfSparse waits). */
  private openPasses = 0;

  constructor(private width: number) {
    this.cells = new Float64Array(MIN_ROWS * width);
    this.hashes = new Uint32Array(MIN_ROWS);
    this.slots = new Int32Array(MIN_ROWS * 2);
  }

  /** Numbers per row. */
  get fields(): number {
    return this.width;
  }

  get size(): number {
    return this.count;
  }

  /** One more number per row, 0 in every row: a column for a new source (rare: a worker's start). */
  widen(): void {
    const width = this.width + 1;
    const cells = new Float64Array(this.capacity() * width);
    for (let row = 0; row < this.used; row++) {
      for (let field = 0; field < this.width; field++) cells[row * width + field] = this.cells[row * this.width + field]!;
    }
    this.cells = cells;
    this.width = width;
  }

  row(ns: string): number | undefined {
    const mask = this.slots.length - 1;
    for (let slot = hashOf(ns) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]!;
      if (entry === EMPTY) return undefined;
      if (this.names[entry - 1] === ns) return entry - 1;
    }
  }

  /** Every namespace with its row, in row order. Rows added meanwhile may be visited; none moves meanwhile. */
  *entries(): Generator<[ns: string, row: number]> {
    this.openPasses++;
    try {
      for (let row = 0; row < this.used; row++) {
        const ns = this.names[row];
        if (ns !== undefined) yield [ns, row];
      }
    } finally {
      this.openPasses--;
    }
  }

  *keys(): Generator<string> {
    for (const [ns] of this.entries()) yield ns;
  }

  /** Each namespace with its row, without a pair allocated per namespace. Deleting meanwhile is allowed. */
  forEach(visit: (row: number, ns: string) => void): void {
    for (let row = 0; row < this.used; row++) {
      const ns = this.names[row];
      if (ns !== undefined) visit(row, ns);
    }
  }

  /** A new row for `ns` (absent), every number 0. */
  add(ns: string): number {
    let row = this.free.pop();
    if (row === undefined) {
      if (this.used === this.capacity()) this.resize(this.capacity() * 2);
      row = this.used++;
      this.names.push(ns);
    } else {
      this.cells.fill(0, row * this.width, (row + 1) * this.width);
      this.names[row] = ns;
    }
    const hash = hashOf(ns);
    this.hashes[row] = hash;
    this.place(row, hash);
    this.count++;
    return row;
  }

  delete(ns: string): void {
    const row = this.row(ns);
    if (row === undefined) return;
    this.unplace(row);
    this.names[row] = undefined;
    this.free.push(row);
    this.count--;
  }

  get(row: number, field: number): number {
    return this.cells[row * this.width + field]!;
  }

  set(row: number, field: number, value: number): void {
    this.cells[row * this.width + field] = value;
  }

  addTo(row: number, field: number, delta: number): void {
    this.cells[row * this.width + field] += delta;
  }

  /**
   * Once at most an eighth of the rows are in use (a flood is gone), moves the namespaces left to the first
   * rows, in their order, of arrays a quarter of the size, so the memory goes with the namespaces. Waits
   * while a pass over the rows is open (a stats read waiting for its socket): rows move.
   */
  shrinkIfSparse(): void {
    const rows = this.capacity();
    if (rows <= MIN_ROWS || this.count * 8 > rows || this.openPasses > 0) return;
    const keep: string[] = [];
    const smaller = Math.max(MIN_ROWS, rows / 4);
    const cells = new Float64Array(smaller * this.width);
    this.forEach((row, ns) => {
      for (let field = 0; field < this.width; field++) cells[keep.length * this.width + field] = this.cells[row * this.width + field]!;
      keep.push(ns);
    });
    this.cells = cells;
    this.names = keep;
    this.used = keep.length;
    this.free = [];
    this.reindex(smaller);
  }

  private capacity(): number {
    return this.hashes.length;
  }

  private resize(rows: number): void {
    const cells = new Float64Array(rows * this.width);
    cells.set(this.cells);
    this.cells = cells;
    this.reindex(rows);
  }

  /** New hashes and slots for `rows` rows, every namespace placed again. */
  private reindex(rows: number): void {
    this.hashes = new Uint32Array(rows);
    this.slots = new Int32Array(rows * 2);
    this.forEach((row, ns) => {
      const hash = hashOf(ns);
      this.hashes[row] = hash;
      this.place(row, hash);
    });
  }

  private place(row: number, hash: number): void {
    const mask = this.slots.length - 1;
    let slot = hash & mask;
    while (this.slots[slot] !== EMPTY) slot = (slot + 1) & mask;
    this.slots[slot] = row + 1;
  }

  /** Empties `row`'s slot and moves back the entries after it that would no longer be found (backward shift). */
  private unplace(row: number): void {
    const mask = this.slots.length - 1;
    let hole = this.hashes[row]! & mask;
    while (this.slots[hole] !== row + 1) hole = (hole + 1) & mask;
    for (let next = (hole + 1) & mask; this.slots[next] !== EMPTY; next = (next + 1) & mask) {
      const home = this.hashes[this.slots[next]! - 1]! & mask;
      // The entry at `next` may fill the hole unless its home lies cyclically in (hole, next].
      const homeBetween = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (homeBetween) continue;
      this.slots[hole] = this.slots[next]!;
      hole = next;
    }
    this.slots[hole] = EMPTY;
  }
}
