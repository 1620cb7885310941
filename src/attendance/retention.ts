// --retention-days: sessions that ended, and samples taken, before the cutoff are deleted, in small
// batches of one short transaction each so that no lock is held for long and the writer loop goes on in
// between. Open sessions are never deleted, whatever their age; a run is deleted once none of its
// sessions is left.
import { INCARNATIONS, SAMPLES, SESSIONS } from './schema.js';
import type { SqlDatabase } from './sql-database.js';

export const DAY_MS = 86_400_000;
/** Rows per DELETE: a few tens of milliseconds at most (SQLite runs it on the primary's event loop), however large the backlog. */
export const RETENTION_BATCH = 500;

type Table = 'sessions' | 'samples' | 'incarnations';

/** One DELETE per table, each of at most `batch` rows older than `cutoff`. */
const DELETES: Record<Table, string> = {
  sessions: `DELETE FROM ${SESSIONS} WHERE session IN (SELECT session FROM ${SESSIONS} WHERE exit_at < ? ORDER BY exit_at LIMIT ?)`,
  samples: `DELETE FROM ${SAMPLES} WHERE (ns, at, node) IN (SELECT ns, at, node FROM ${SAMPLES} WHERE at < ? ORDER BY at LIMIT ?)`,
  incarnations: `DELETE FROM ${INCARNATIONS} WHERE incarnation IN (
    SELECT incarnation FROM ${INCARNATIONS} AS i WHERE ended_at < ?
      AND NOT EXISTS (SELECT 1 FROM ${SESSIONS} AS s WHERE s.incarnation = i.incarnation) LIMIT ?)`,
};

export interface Pruned {
  sessions: number;
  samples: number;
  incarnations: number;
}

/** A retention pass, one batch at a time; the pass is done when next() answers false. */
export class RetentionPass {
  readonly pruned: Pruned = { sessions: 0, samples: 0, incarnations: 0 };
  private readonly tables: Table[] = ['sessions', 'samples', 'incarnations'];

  constructor(readonly cutoff: number, private readonly batch = RETENTION_BATCH) {}

  /** Deletes the next batch; false once every table is done. */
  async next(db: SqlDatabase): Promise<boolean> {
    const table = this.tables[0];
    if (table === undefined) return false;
    const deleted = await db.transaction((tx) => tx.run(DELETES[table], [new Date(this.cutoff), this.batch]));
    this.pruned[table] += deleted;
    if (deleted < this.batch) this.tables.shift();
    return true;
  }
}
