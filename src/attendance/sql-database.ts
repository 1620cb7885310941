// What the attendance log needs from a database, so every query is written once for both stores. The SQL
// is the common subset of SQLite and PostgreSQL (`?` placeholders, ON CONFLICT, partial indexes, UPDATE …
// FROM (VALUES …)); each store turns it into its own driver's calls.

export type SqlValue = string | number | null;
export type Row = Record<string, unknown>;

export interface SqlRunner {
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

export function text(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}
