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
// flood left the primary's malloc heap a megabyte larger per flood.
//
// Each array is kept in chunks of CHUNK entries (class Chunked), not as one array: growing adds chunks and
// copies nothing, shrinking moves the rows left into the first chunks and drops the others, and the free
// rows are a list threaded through `hashes`. One array per purpose made every growth of a flood allocate a
// new array of the whole table (several MB, twice: built as small integers, then converted to doubles when
// the first time stamp was written), which V8 puts in its large-object space, kept until a full collection
// that an idle primary does not run: ~10 MB of a flood's garbage left in the idle primary (BENCHMARKS.md,
// namespace floods, fifth look). A chunk stays under V8's large-object size and is allocated once.

/** Rows below which the arrays never shrink: 80 KB of numbers for a row of 10. */
const MIN_ROWS = 1024;
/** A row number in the index is stored + 1: 0 marks an empty slot (and the end of the free list). */
const EMPTY = 0;
/** Entries per chunk: 32 KB of doubles, well under V8's large-object size (128 KB) and its fast-array limit. */
const CHUNK_BITS = 12;
const CHUNK = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK - 1;

/** FNV-1a over UTF-16 code units: cheap, and good enough spread for an index at most half full. */
function hashOf(ns: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < ns.length; i++) h = Math.imul(h ^ ns.charCodeAt(i), 0x01000193);
  // A small integer for V8 (31 bits), which `& mask` then spreads over the slots.
  return h & 0x3fffffff;
}

/**
 * A chunk of CHUNK numbers, 0. Built from a double so that V8 keeps it an array of unboxed doubles from the
 * start: built from small integers, it would be copied into a new array at the first fraction or time stamp.
 */
function numberChunk(): number[] {
  const chunk = [0.5];
  for (let i = 1; i < CHUNK; i++) chunk.push(0.5);
  return chunk.fill(0);
}

function nameChunk(): (string | undefined)[] {
  return new Array<string | undefined>(CHUNK).fill(undefined);
}

/** An array of at least `length` entries kept in chunks of CHUNK; `make` builds a chunk of empty entries. */
class Chunked<T> {
  private chunks: T[][] = [];

  constructor(private readonly make: () => T[], length: number) {
    this.resize(length);
  }

  get(i: number): T {
    return this.chunks[i >> CHUNK_BITS]![i & CHUNK_MASK]!;
  }

  set(i: number, value: T): void {
    this.chunks[i >> CHUNK_BITS]![i & CHUNK_MASK] = value;
  }

  /** Room for `length` entries: new chunks are empty, chunks past it are dropped. */
  resize(length: number): void {
    const chunks = Math.ceil(length / CHUNK);
    while (this.chunks.length < chunks) this.chunks.push(this.make());
    this.chunks.length = chunks;
  }

  fill(value: T, from: number, to: number): void {
    for (let i = from; i < to; i++) this.set(i, value);
  }
}

export class NamespaceRows {
  private cells: Chunked<number>;
  /** names[row]: its namespace, undefined for a free row. */
  private readonly names = new Chunked<string | undefined>(nameChunk, MIN_ROWS);
  /**
   * hashes[row]: hashOf(names[row]), kept so that moving an index slot needs no string read. For a free row,
   * the next free row + 1 (EMPTY: the last one): the free rows are a list, reused last freed first.
   */
  private readonly hashes = new Chunked<number>(numberChunk, MIN_ROWS);
  /** Open addressing, twice as many slots as rows: slot → row + 1, or EMPTY. */
  private readonly slots = new Chunked<number>(numberChunk, MIN_ROWS * 2);
  /** Rows the arrays have room for. */
  private rows = MIN_ROWS;
  /** Rows in use or freed so far (the next new one is number `used`). */
  private used = 0;
  /** The first free row + 1, EMPTY when none is free. */
  private freeHead = EMPTY;
  private freeCount = 0;
  /** Passes over the rows not finished yet: rows must not move under them (shrinkIfSparse waits). */
  private openPasses = 0;

  constructor(private width: number) {
    this.cells = new Chunked(numberChunk, MIN_ROWS * width);
  }

  /** Numbers per row. */
  get fields(): number {
    return this.width;
  }

  get size(): number {
    return this.used - this.freeCount;
  }

  /** One more number per row, 0 in every row: a column for a new source (rare: a worker's start). */
  widen(): void {
    const width = this.width + 1;
    const cells = new Chunked(numberChunk, this.rows * width);
    for (let row = 0; row < this.used; row++) {
      for (let field = 0; field < this.width; field++) cells.set(row * width + field, this.cells.get(row * this.width + field));
    }
    this.cells = cells;
    this.width = width;
  }

  row(ns: string): number | undefined {
    const mask = this.rows * 2 - 1;
    for (let slot = hashOf(ns) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots.get(slot);
      if (entry === EMPTY) return undefined;
      if (this.names.get(entry - 1) === ns) return entry - 1;
    }
  }

  /** Every namespace with its row, in row order. Rows added meanwhile may be visited; none moves meanwhile. */
  *entries(): Generator<[ns: string, row: number]> {
    this.openPasses++;
    try {
      for (let row = 0; row < this.used; row++) {
        const ns = this.names.get(row);
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
      const ns = this.names.get(row);
      if (ns !== undefined) visit(row, ns);
    }
  }

  /** A new row for `ns` (absent), every number 0. */
  add(ns: string): number {
    let row: number;
    if (this.freeHead !== EMPTY) {
      row = this.freeHead - 1;
      this.freeHead = this.hashes.get(row);
      this.freeCount--;
    } else {
      if (this.used === this.rows) this.resize(this.rows * 2);
      row = this.used++;
    }
    // A freed row, or one a shrink left its former numbers in (the chunks are reused, not rebuilt).
    this.cells.fill(0, row * this.width, (row + 1) * this.width);
    this.names.set(row, ns);
    const hash = hashOf(ns);
    this.hashes.set(row, hash);
    this.place(row, hash);
    return row;
  }

  delete(ns: string): void {
    const row = this.row(ns);
    if (row === undefined) return;
    this.unplace(row);
    this.names.set(row, undefined);
    this.hashes.set(row, this.freeHead);
    this.freeHead = row + 1;
    this.freeCount++;
  }

  get(row: number, field: number): number {
    return this.cells.get(row * this.width + field);
  }

  set(row: number, field: number, value: number): void {
    this.cells.set(row * this.width + field, value);
  }

  addTo(row: number, field: number, delta: number): void {
    const i = row * this.width + field;
    this.cells.set(i, this.cells.get(i) + delta);
  }

  /**
   * Once at most an eighth of the rows are in use (a flood is gone), moves the namespaces left to the first
   * rows, in their order, and keeps room for a quarter as many rows, so the memory goes with the namespaces.
   * Waits while a pass over the rows is open (a stats read waiting for its socket): rows move.
   */
  shrinkIfSparse(): void {
    if (this.rows <= MIN_ROWS || this.size * 8 > this.rows || this.openPasses > 0) return;
    let kept = 0;
    for (let row = 0; row < this.used; row++) {
      const ns = this.names.get(row);
      if (ns === undefined) continue;
      // kept <= row: moving left in place never overwrites a row not moved yet.
      if (kept !== row) {
        for (let field = 0; field < this.width; field++) this.cells.set(kept * this.width + field, this.cells.get(row * this.width + field));
        this.names.set(kept, ns);
        this.hashes.set(kept, this.hashes.get(row));
      }
      kept++;
    }
    this.names.fill(undefined, kept, this.used);
    this.used = kept;
    this.freeHead = EMPTY;
    this.freeCount = 0;
    const rows = Math.max(MIN_ROWS, this.rows / 4);
    this.cells.resize(rows * this.width);
    this.names.resize(rows);
    this.hashes.resize(rows);
    this.reindex(rows);
  }

  /** Room for `rows` rows (more than now), every namespace placed again in an index of twice as many slots. */
  private resize(rows: number): void {
    this.cells.resize(rows * this.width);
    this.names.resize(rows);
    this.hashes.resize(rows);
    this.reindex(rows);
  }

  /** The index for `rows` rows: emptied, resized, and every namespace in use placed again. */
  private reindex(rows: number): void {
    this.rows = rows;
    this.slots.resize(rows * 2);
    this.slots.fill(EMPTY, 0, rows * 2);
    this.forEach((row) => this.place(row, this.hashes.get(row)));
  }

  private place(row: number, hash: number): void {
    const mask = this.rows * 2 - 1;
    let slot = hash & mask;
    while (this.slots.get(slot) !== EMPTY) slot = (slot + 1) & mask;
    this.slots.set(slot, row + 1);
  }

  /** Empties `row`'s slot and moves back the entries after it that would no longer be found (backward shift). */
  private unplace(row: number): void {
    const mask = this.rows * 2 - 1;
    let hole = this.hashes.get(row) & mask;
    while (this.slots.get(hole) !== row + 1) hole = (hole + 1) & mask;
    for (let next = (hole + 1) & mask; this.slots.get(next) !== EMPTY; next = (next + 1) & mask) {
      const home = this.hashes.get(this.slots.get(next) - 1) & mask;
      // The entry at `next` may fill the hole unless its home lies cyclically in (hole, next].
      const homeBetween = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (homeBetween) continue;
      this.slots.set(hole, this.slots.get(next));
      hole = next;
    }
    this.slots.set(hole, EMPTY);
  }
}
