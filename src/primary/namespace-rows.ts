// The numbers of every namespace the audience table holds: a row of `width` numbers per namespace in one
// array of doubles, the names in an array beside it, and an open-addressing hash index (an array of row
// numbers) from a name to its row. No object per namespace, and nothing allocated per namespace but its name.
//
// Why not objects and a Map: a namespace lives seconds at least (a flood's, from its one viewer to the clean
// delay), long enough for V8 to move what it allocated for it into the old generation, where an idle primary
// then keeps a whole flood's worth until a full collection that may not come (BENCHMARKS.md, namespace
// floods). A record object per namespace was that, and so was a Map from name to row: V8 rebuilds a Map's
// table as entries come and go (deleted entries stay in it until the next rebuild), megabytes of tables per
// flood of 50,000 namespaces. Here rows are reused, the index deletes in place (linear probing with backward
// shift: no tombstones, nothing rebuilt until the rows grow or shrink), and the arrays grow to the most
// namespaces held at once and shrink again once most rows are free. Plain arrays of numbers (V8 keeps them
// unboxed), not typed arrays: a typed array's memory is malloc's, and growing and shrinking them at every
// flood left the primary's malloc heap a megabyte larger per flood; V8 gives a large array's pages back to
// the system as soon as a collection frees it.

/** Rows below which the arrays never shrink: 64 KB of numbers for a row of 8. */
const MIN_ROWS = 1024;
/** A row number in the index is stored + 1: 0 marks an empty slot. */
const EMPTY = 0;

/** FNV-1a over UTF-16 code units: cheap, and good enough spread for an index at most half full. */
function hashOf(ns: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < ns.length; i++) h = Math.imul(h ^ ns.charCodeAt(i), 0x01000193);
  // A small integer for V8 (31 bits), which `& mask` then spreads over the slots.
  return h & 0x3fffffff;
}

/** A packed array of `n` zeros: V8 keeps it an array of small integers, then of unboxed doubles. */
function zeros(n: number): number[] {
  const array: number[] = [];
  for (let i = 0; i < n; i++) array.push(0);
  return array;
}

export class NamespaceRows {
  private cells: number[];
  /** names[row]: its namespace, undefined for a free row. */
  private names: (string | undefined)[] = [];
  /** hashes[row]: hashOf(names[row]), kept so that moving an index slot needs no string read. */
  private hashes: number[];
  /** Open addressing, twice as many slots as rows: slot → row + 1, or EMPTY. */
  private slots: number[];
  /** Rows in use or freed so far (the next new one is number `used`); those in use are `used - free.length`. */
  private used = 0;
  /** Rows freed, reused first. */
  private free: number[] = [];
  /** Passes over the rows not finished yet: rows must not move under them (shrinkIfSparse waits). */
  private openPasses = 0;

  constructor(private width: number) {
    this.cells = zeros(MIN_ROWS * width);
    this.hashes = zeros(MIN_ROWS);
    this.slots = zeros(MIN_ROWS * 2);
  }

  /** Numbers per row. */
  get fields(): number {
    return this.width;
  }

  get size(): number {
    return this.used - this.free.length;
  }

  /** One more number per row, 0 in every row: a column for a new source (rare: a worker's start). */
  widen(): void {
    const width = this.width + 1;
    const cells = zeros(this.capacity() * width);
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
    return row;
  }

  delete(ns: string): void {
    const row = this.row(ns);
    if (row === undefined) return;
    this.unplace(row);
    this.names[row] = undefined;
    this.free.push(row);
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
    if (rows <= MIN_ROWS || this.size * 8 > rows || this.openPasses > 0) return;
    const keep: string[] = [];
    const smaller = Math.max(MIN_ROWS, rows / 4);
    const cells = zeros(smaller * this.width);
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
    const cells = zeros(rows * this.width);
    for (let i = 0; i < this.cells.length; i++) cells[i] = this.cells[i]!;
    this.cells = cells;
    this.reindex(rows);
  }

  /** New hashes and slots for `rows` rows, every namespace placed again. */
  private reindex(rows: number): void {
    this.hashes = zeros(rows);
    this.slots = zeros(rows * 2);
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
