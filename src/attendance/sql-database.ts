// What the attendance log needs from a database, so every query is written once for both stores. The SQL
// is the common subset of SQLite and PostgreSQL (`?` placeholders, ON CONFLICT, partial indexes, UPDATE …
// FROM (VALUES …), RETURNING); each store turns it into its own driver's calls. Where the two differ
// (PostgreSQL's `timestamptz` and `interval` against SQLite's integer milliseconds), the store's Dialect
// says how, so no query is written twice.

/** Times are passed as Date: PostgreSQL takes them as `timestamptz`, SQLite as ms since epoch. */
export type SqlValue = string | number | null | Date;
export type Row = Record<string, unknown>;

export interface Dialect {
  readonly kind: 'sqlite' | 'postgres';
  /** The column type of a point in time, for CAST in a VALUES list. */
  readonly timeType: string;
  /** A length of time as the store's `duration` columns take it (PostgreSQL `interval`, SQLite ms). */
  duration(ms: number): SqlValue;
  /** A query answering one row with `present` true (or 1) when the table is in the connection's search path. */
  tableExists(table: string): { sql: string; params: SqlValue[] };
}

export interface SqlRunner {
  readonly dialect: Dialect;
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  all<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
}

export interface SqlDatabase extends SqlRunner {
  readonly kind: 'sqlite' | 'postgres';
  /** Runs `work` in one transaction, committed when it resolves and rolled back when it throws. */
  transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /** Run first inside the migrations' transaction, so two nodes starting together migrate one at a time. */
  readonly migrationLock: string | undefined;
  close(): Promise<void>;
}

/** Most rows put in one statement: PostgreSQL takes at most 65,535 parameters, SQLite 32,766. */
export const ROWS_PER_STATEMENT = 500;

/** `(?, ?, ?), (?, ?, ?)` for `rows` rows of `columns` values, each cast when `casts` names a type. */
export function valuesList(rows: number, columns: number, casts: readonly (string | undefined)[] = []): string {
  const one = `(${Array.from({ length: columns }, (_, i) => (casts[i] ? `CAST(? AS ${casts[i]})` : '?')).join(', ')})`;
  return Array.from({ length: rows }, () => one).join(', ');
}

/** Numbers come back as strings from PostgreSQL's BIGINT and COUNT: read every number through this. */
export function num(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

/** A point in time as ms since epoch: PostgreSQL's `timestamptz` comes back as a Date, SQLite's as a number. */
export function ms(value: unknown): number {
  return value instanceof Date ? value.getTime() : num(value);
}

export function text(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}
