// The numbers of every namespace the audience table holds, a row of `width` numbers per namespace in one
// Float64Array, found through a map from the namespace's name to its row: no object per namespace in the
// JavaScript heap. Why: a namespace lives seconds at least (a flood's, from its one viewer to the clean
// delay), long enough for V8 to move an object of its into the old generation, where an idle primary then
// keeps a whole flood's dead records until a full collection that may not come (BENCHMARKS.md, namespace
// floods). Here a namespace costs the heap its map entry and its name, nothing more; rows are reused, and the
// array (outside the heap) grows to the most namespaces held at once and shrinks again once they are gone.

/** Rows below which the array never shrinks: 64 KB for a row of 8 numbers. */
const MIN_ROWS = 1024;

export class NamespaceRows {
  /** Insertion order is the table's order: the stats port lists namespaces oldest first, as 2.x did. */
  private readonly rowOf = new Map<string, number>();
  private cells: Float64Array;
  /** Rows in use or freed so far (the next new one is number `used`). */
  private used = 0;
  /** Rows freed, reused first. */
  private free: number[] = [];

  constructor(private readonly width: number) {
    this.cells = new Float64Array(MIN_ROWS * width);
  }

  get size(): number {
    return this.rowOf.size;
  }

  row(ns: string): number | undefined {
    return this.rowOf.get(ns);
  }

  /** Every namespace with its row, in the table's order. Rows may move between calls (shrink), never during one. */
  entries(): IterableIterator<[ns: string, row: number]> {
    return this.rowOf.entries();
  }

  names(): IterableIterator<string> {
    return this.rowOf.keys();
  }

  /** forEach, not for…of over entries: no [name, row] pair allocated per namespace. Deleting meanwhile is allowed. */
  forEach(visit: (row: number, ns: string) => void): void {
    this.rowOf.forEach(visit);
  }

  /** A new row for `ns` (absent), every number 0. */
  add(ns: string): number {
    let row = this.free.pop();
    if (row === undefined) {
      row = this.used++;
      if (this.used * this.width > this.cells.length) this.grow();
    } else {
      this.cells.fill(0, row * this.width, (row + 1) * this.width);
    }
    this.rowOf.set(ns, row);
    return row;
  }

  delete(ns: string): void {
    const row = this.rowOf.get(ns);
    if (row === undefined) return;
    this.rowOf.delete(ns);
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
   * Once most rows are free (a flood is gone), moves the namespaces left to the first rows of an array a
   * quarter of the size, so the memory goes with the namespaces. Called between passes over the rows, never
   * during one: rows move.
   */
  shrinkIfSparse(): void {
    const rows = this.cells.length / this.width;
    if (rows <= MIN_ROWS || this.rowOf.size * 8 > rows) return;
    const cells = new Float64Array(Math.max(MIN_ROWS, rows / 4) * this.width);
    let next = 0;
    this.rowOf.forEach((row, ns) => {
      for (let field = 0; field < this.width; field++) cells[next * this.width + field] = this.cells[row * this.width + field]!;
      this.rowOf.set(ns, next++);
    });
    this.cells = cells;
    this.used = next;
    this.free = [];
  }

  private grow(): void {
    const cells = new Float64Array(this.cells.length * 2);
    cells.set(this.cells);
    this.cells = cells;
  }
}
