// The log's tables, by the names every query uses. They are prefixed so they can share a schema with an
// application's own tables, and unqualified so the connection's search_path (PostgreSQL) picks the schema.
export const SESSIONS = 'audience_meter_sessions';
export const SAMPLES = 'audience_meter_samples';
/** One row per run of a daemon: its heartbeat, and how it ended. */
export const INCARNATIONS = 'audience_meter_incarnations';
export const MIGRATIONS_TABLE = 'audience_meter_migrations';

/** Version 1 (3.0.0) wrote unprefixed tables and kept its version here. */
export const V1_TABLES = { sessions: 'sessions', samples: 'samples', migrations: 'schema_migrations' } as const;
