// The log's schema, as numbered migrations the daemon applies at start, in order, each once. A released
// migration is never edited: a change is a new entry at the end. Types are the common subset of SQLite and
// PostgreSQL (BIGINT holds ms since epoch in both).
import type { SqlDatabase } from './sql-database.js';
import { num } from './sql-database.js';

interface Migration {
  version: number;
  statements: string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    statements: [
      `CREATE TABLE sessions (
        session TEXT PRIMARY KEY,
        ns TEXT NOT NULL,
        user_id TEXT,
        user_name TEXT,
        connection TEXT NOT NULL,
        node TEXT NOT NULL,
        transport TEXT NOT NULL,
        entry_at BIGINT NOT NULL,
        exit_at BIGINT,
        exit_reason TEXT,
        last_seen BIGINT NOT NULL,
        page TEXT,
        browser TEXT,
        os TEXT,
        device TEXT,
        ip TEXT,
        country TEXT
      )`,
      'CREATE INDEX sessions_by_namespace ON sessions (ns, user_id, entry_at)',
      // Heartbeats, shutdown and crash recovery touch only one node's open sessions.
      'CREATE INDEX sessions_open_by_node ON sessions (node) WHERE exit_at IS NULL',
      `CREATE TABLE samples (
        ns TEXT NOT NULL,
        at BIGINT NOT NULL,
        node TEXT NOT NULL,
        members INTEGER NOT NULL,
        PRIMARY KEY (ns, at, node)
      )`,
    ],
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/** Brings the schema up to SCHEMA_VERSION; refuses a database written by a newer daemon. */
export async function migrate(db: SqlDatabase, now = Date.now()): Promise<number[]> {
  return db.transaction(async (tx) => {
    if (db.migrationLock) await tx.all(db.migrationLock);
    await tx.run('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    const [row] = await tx.all('SELECT MAX(version) AS version FROM schema_migrations');
    const current = row?.version === null || row?.version === undefined ? 0 : num(row.version);
    if (current > SCHEMA_VERSION) {
      throw new Error(`the database's schema is version ${current}, newer than this daemon's ${SCHEMA_VERSION}: upgrade audience-meter`);
    }
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      for (const statement of migration.statements) await tx.run(statement);
      await tx.run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [migration.version, now]);
      applied.push(migration.version);
    }
    return applied;
  });
}
