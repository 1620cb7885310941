// Attendance events a worker sends the primary in its per-tick report: a session (one stream) entered or
// exited. Only the primary writes them down (DESIGN principle 4). Validated on receipt like every IPC field.

export const EXIT_REASONS = ['left', 'expelled', 'max-duration', 'shutdown', 'crash'] as const;
export type ExitReason = (typeof EXIT_REASONS)[number];

export interface SessionEntry {
  /** Random and unguessable; also the stream's SSE `id:`, so a reconnecting browser names it. */
  session: string;
  /** Unique across workers and nodes; tells which worker holds the connection. */
  connection: string;
  ns: string;
  /** From a verified token's `sub`; null for an anonymous viewer. */
  user: string | null;
  /** From the token's optional `name` claim. */
  name: string | null;
  /** ms since epoch */
  at: number;
  page: string | null;
  browser: string | null;
  os: string | null;
  device: string | null;
  /** The client address as seen (X-Forwarded-For only with --trust-proxy); the primary truncates and geolocates it. */
  ip: string | null;
  transport: 'sse' | 'ws';
  /** The User-Agent header as sent (cut to MAX_USER_AGENT), for the admin page; absent in entries made elsewhere (tests, tools). */
  userAgent?: string | null;
}

/** Longer User-Agents are cut: the parsed browser, OS and device already say what matters. */
export const MAX_USER_AGENT = 512;

export interface SessionExit {
  session: string;
  at: number;
  reason: ExitReason;
}

const MAX_TEXT = 2048;

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_TEXT;
}

function isOptionalText(value: unknown): value is string | null {
  return value === null || isText(value);
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function isSessionEntry(item: unknown): item is SessionEntry {
  if (typeof item !== 'object' || item === null) return false;
  const e = item as Record<string, unknown>;
  return isText(e.session) && isText(e.connection) && isText(e.ns) && isOptionalText(e.user) && isOptionalText(e.name)
    && isTime(e.at) && isOptionalText(e.page) && isOptionalText(e.browser) && isOptionalText(e.os)
    && isOptionalText(e.device) && isOptionalText(e.ip) && (e.transport === 'sse' || e.transport === 'ws')
    && (e.userAgent === undefined || isOptionalText(e.userAgent));
}

export function isSessionExit(item: unknown): item is SessionExit {
  if (typeof item !== 'object' || item === null) return false;
  const e = item as Record<string, unknown>;
  return isText(e.session) && isTime(e.at) && (EXIT_REASONS as readonly unknown[]).includes(e.reason);
}
