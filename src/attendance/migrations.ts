// The log's schema, as numbered migrations the daemon applies at start, in order, each once, in one
// transaction. A released migration is never edited: a change is a new entry at the end.
//
// Statements are per store: PostgreSQL gets its own types (`timestamptz`, `interval`, `inet`, `uuid`),
// SQLite integer milliseconds and text, under the same names. Version 2 builds the prefixed tables; on a
// database at version 1 (3.0.0's unprefixed `sessions` and `samples`) it also carries their rows over and
// drops them. A new database starts at version 2, so it never holds version 1's tables, even for a moment.
import { logInfo } from '../log.js';
import { INCARNATIONS, MIGRATIONS_TABLE, SAMPLES, SESSIONS, V1_TABLES } from './schema.js';
import { num, type SqlDatabase, type SqlRunner } from './sql-database.js';

type PerStore = Record<SqlDatabase['kind'], string[]>;

interface Migration {
  version: number;
  statements: PerStore;
  /** Version 2 only: carries version 1's rows into the new tables, when the database was at version 1. */
  fromV1?: PerStore;
}

/** The enumerations as version 2 knows them; a new value is a new migration. */
const EXIT_REASONS_V2 = "('left', 'expelled', 'max-duration', 'shutdown', 'crash')";
const TRANSPORTS_V2 = "('sse', 'ws')";
const END_REASONS_V2 = "('shutdown', 'crash')";

function createV2(types: { time: string; duration: string; ip: string; id: string; positive: string }): string[] {
  return [
    `CREATE TABLE ${INCARNATIONS} (
      incarnation ${types.id} PRIMARY KEY,
      node TEXT NOT NULL,
      started_at ${types.time} NOT NULL,
      last_seen ${types.time} NOT NULL,
      grace ${types.duration} NOT NULL CHECK (grace > ${types.positive}),
      ended_at ${types.time},
      end_reason TEXT CHECK (end_reason IN ${END_REASONS_V2}),
      CHECK ((ended_at IS NULL) = (end_reason IS NULL))
    )`,
    // The crash sweep looks only at incarnations still running.
    `CREATE INDEX ${INCARNATIONS}_running ON ${INCARNATIONS} (last_seen) WHERE ended_at IS NULL`,
    `CREATE TABLE ${SESSIONS} (
      session TEXT PRIMARY KEY,
      ns TEXT NOT NULL,
      user_id TEXT,
      user_name TEXT,
      connection TEXT NOT NULL,
      node TEXT NOT NULL,
      incarnation ${types.id} NOT NULL,
      transport TEXT NOT NULL CHECK (transport IN ${TRANSPORTS_V2}),
      entry_at ${types.time} NOT NULL,
      exit_at ${types.time},
      exit_reason TEXT CHECK (exit_reason IN ${EXIT_REASONS_V2}),
      last_seen ${types.time} NOT NULL,
      page TEXT,
      browser TEXT,
      os TEXT,
      device TEXT,
      ip ${types.ip},
      country TEXT,
      given_up_by ${types.id},
      CHECK ((exit_at IS NULL) = (exit_reason IS NULL)),
      CHECK (given_up_by IS NULL OR exit_reason = 'crash')
    )`,
    `CREATE INDEX ${SESSIONS}_by_namespace ON ${SESSIONS} (ns, user_id, entry_at)`,
    // Shutdown, crash closing and the return of a node cut off touch one incarnation's sessions, open or
    // closed as crash.
    `CREATE INDEX ${SESSIONS}_by_incarnation ON ${SESSIONS} (incarnation, exit_at)`,
    // Retention deletes the oldest closed sessions first.
    `CREATE INDEX ${SESSIONS}_closed ON ${SESSIONS} (exit_at) WHERE exit_at IS NOT NULL`,
    `CREATE TABLE ${SAMPLES} (
      ns TEXT NOT NULL,
      at ${types.time} NOT NULL,
      node TEXT NOT NULL,
      members INTEGER NOT NULL CHECK (members >= 0),
      PRIMARY KEY (ns, at, node)
    )`,
    `CREATE INDEX ${SAMPLES}_by_time ON ${SAMPLES} (at)`,
  ];
}

/**
 * Version 1 knew nodes, not runs: each node's sessions become one incarnation of that node, still running
 * if it left sessions open (the crash sweep closes them once its last heartbeat is older than the grace).
 * Version 1's heartbeat was 30 s, hence its grace of 90 s.
 */
function carryV1(t: { time: (column: string) => string; v1Incarnation: string; ip: string; graceV1: string }): string[] {
  const { sessions, samples } = V1_TABLES;
  return [
    `INSERT INTO ${INCARNATIONS} (incarnation, node, started_at, last_seen, grace, ended_at, end_reason)
     SELECT ${t.v1Incarnation}, node, ${t.time('MIN(entry_at)')}, ${t.time('MAX(last_seen)')}, ${t.graceV1},
       CASE WHEN COUNT(exit_at) = COUNT(*) THEN ${t.time('MAX(last_seen)')} END,
       CASE WHEN COUNT(exit_at) = COUNT(*) THEN 'shutdown' END
     FROM ${sessions} GROUP BY node`,
    `INSERT INTO ${SESSIONS} (session, ns, user_id, user_name, connection, node, incarnation, transport, entry_at, exit_at,
       exit_reason, last_seen, page, browser, os, device, ip, country)
     SELECT session, ns, user_id, user_name, connection, node, ${t.v1Incarnation}, transport, ${t.time('entry_at')}, ${t.time('exit_at')},
       exit_reason, ${t.time('last_seen')}, page, browser, os, device, ${t.ip}, country
     FROM ${sessions}`,
    `INSERT INTO ${SAMPLES} (ns, at, node, members) SELECT ns, ${t.time('at')}, node, members FROM ${samples}`,
    `DROP TABLE ${sessions}`,
    `DROP TABLE ${samples}`,
  ];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 2,
    statements: {
      postgres: createV2({ time: 'timestamptz', duration: 'interval', ip: 'inet', id: 'uuid', positive: "interval '0'" }),
      sqlite: createV2({ time: 'INTEGER', duration: 'INTEGER', ip: 'TEXT', id: 'TEXT', positive: '0' }),
    },
    fromV1: {
      postgres: carryV1({
        time: (column) => `to_timestamp(${column} / 1000.0)`,
        v1Incarnation: "CAST(md5('v1:' || node) AS uuid)",
        // Version 1 stored what the socket or a checked X-Forwarded-For gave, an IPv6 zone included.
        // (No `?` in this SQL: the store numbers every `?` as a parameter.)
        ip: "CASE WHEN split_part(ip, '%', 1) ~ '^[0-9A-Fa-f:.]+$' THEN CAST(split_part(ip, '%', 1) AS inet) END",
        graceV1: "interval '90 seconds'",
      }),
      sqlite: carryV1({ time: (column) => column, v1Incarnation: "'v1:' || node", ip: 'ip', graceV1: '90000' }),
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

async function tableExists(tx: SqlRunner, table: string): Promise<boolean> {
  const query = tx.dialect.tableExists(table);
  const [row] = await tx.all(query.sql, query.params);
  return row?.present === true || num(row?.present) === 1;
}

/** The version the database is at: 0 when new, 1 when it holds version 1's tables. */
async function currentVersion(tx: SqlRunner): Promise<number> {
  if (await tableExists(tx, MIGRATIONS_TABLE)) {
    const [row] = await tx.all(`SELECT MAX(version) AS version FROM ${MIGRATIONS_TABLE}`);
    return row?.version === null || row?.version === undefined ? 0 : num(row.version);
  }
  await tx.run(`CREATE TABLE ${MIGRATIONS_TABLE} (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`);
  if (!(await tableExists(tx, V1_TABLES.migrations)) || !(await tableExists(tx, V1_TABLES.sessions))) return 0;
  const [row] = await tx.all(`SELECT COUNT(*) AS v1 FROM ${V1_TABLES.migrations} WHERE CAST(version AS TEXT) = '1'`);
  return num(row?.v1) > 0 ? 1 : 0;
}

/** Version 1's bookkeeping goes with its tables; its table is dropped only if nothing else wrote to it. */
async function forgetV1(tx: SqlRunner): Promise<void> {
  // Compared as text: an application's own schema_migrations may keep its versions as strings.
  await tx.run(`DELETE FROM ${V1_TABLES.migrations} WHERE CAST(version AS TEXT) = '1'`);
  const [row] = await tx.all(`SELECT COUNT(*) AS left_ FROM ${V1_TABLES.migrations}`);
  if (num(row?.left_) === 0) await tx.run(`DROP TABLE ${V1_TABLES.migrations}`);
}

/** Brings the schema up to SCHEMA_VERSION; refuses a database written by a newer daemon. */
export async function migrate(db: SqlDatabase, now = Date.now()): Promise<number[]> {
  return db.transaction(async (tx) => {
    if (db.migrationLock) await tx.all(db.migrationLock);
    const current = await currentVersion(tx);
    if (current > SCHEMA_VERSION) {
      throw new Error(`the database's schema is version ${current}, newer than this daemon's ${SCHEMA_VERSION}: upgrade audience-meter`);
    }
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      for (const statement of migration.statements[db.kind]) await tx.run(statement);
      if (current === 1 && migration.fromV1) {
        for (const statement of migration.fromV1[db.kind]) await tx.run(statement);
        await forgetV1(tx);
      }
      await tx.run(`INSERT INTO ${MIGRATIONS_TABLE} (version, applied_at) VALUES (?, ?)`, [migration.version, now]);
      applied.push(migration.version);
    }
    if (current === 1) logInfo('attendance log: version 1 tables (sessions, samples) carried into the audience_meter_* tables and dropped');
    return applied;
  });
}
