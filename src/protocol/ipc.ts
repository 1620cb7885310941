// Messages between the primary and its workers (node:cluster IPC). Workers send state, not increments:
// each report carries the worker's ABSOLUTE member count for every namespace that changed since the last
// one, so a lost or repeated report heals itself at the next. Both sides validate what they receive.

import { isEventName } from './event-name.js';
import { isSessionEntry, isSessionExit, type SessionEntry, type SessionExit } from './sessions.js';

/** [namespace, members now on this worker, viewers counted since the previous report] */
export type ReportEntry = [ns: string, members: number, joined: number];
/** [namespace, members] */
export type CountEntry = [ns: string, members: number];

/**
 * A uuid stream opened (or a plain request to /{ns}/{uuid} arrived) at `at` ms on worker `worker`: every
 * stream with that uuid opened earlier (ties: on a lower worker id) ends.
 */
export interface Exclusion {
  uuid: string;
  at: number;
  worker: number;
}

/** The `worker` of an exclusion from a plain request: it ends every stream of the uuid opened up to `at`. */
export const PLAIN_REQUEST_WORKER = Number.MAX_SAFE_INTEGER;

/** A WebSocket viewer reported a page change: [connection id, page, ms since epoch]. */
export type PageEvent = [connection: string, page: string, at: number];

/**
 * What the admin listing and the live feed show of a connection, as its worker keeps it: the session's entry,
 * its page kept current. The session id in it stays in the primary (it is what expels a stream).
 */
export type ConnectionFacts = SessionEntry;

/** A live feed event from a worker, sent only while a feed is open: [kind, the connection, ms since epoch]. */
export type FeedEvent = [kind: 'join' | 'leave' | 'page', connection: ConnectionFacts, at: number];

/** [client address, open streams on this worker now]: reported when it changed, with --max-conns-per-ip only. */
export type AddressEntry = [ip: string, open: number];

/** The largest page of the listing a worker is asked for (the admin API's MAX_PAGE, the feed's snapshot). */
export const MAX_LISTED = 1000;

/** Who a targeted message is for. */
export type DeliveryTarget =
  | { kind: 'namespace'; ns: string }
  | { kind: 'user'; user: string }
  | { kind: 'connection'; connection: string };

/** Largest `data` of a targeted message over IPC (the admin API's own limit is lower). */
export const MAX_DELIVERY_DATA = 64 * 1024;

/**
 * The secrets a worker verifies viewers' tokens with: the current one, and after a rotation (SIGHUP with a
 * new --auth-secret-file) the previous one until `previousUntil` (ms since epoch), so pages signed just
 * before the rotation still get in. Sent by the primary on each reload, and in a new worker's environment.
 */
export interface AuthSecrets {
  current: string;
  previous: string | null;
  previousUntil: number;
}

export type WorkerMessage =
  | {
    type: 'report'; entries: ReportEntry[]; exclusions: Exclusion[]; entered: SessionEntry[]; exited: SessionExit[];
    /** Joins, leaves and page changes since the last report, while a live feed is open; absent otherwise. */
    feed?: FeedEvent[];
    /** Addresses whose count of open streams changed since the last report (--max-conns-per-ip). */
    addresses?: AddressEntry[];
    /** A part of a large report, more parts follow (worker/report-parts.ts; the primary acts on the whole). */
    more?: true;
  }
  /** Answer to `deliver`: how many of this worker's connections the message was written to. */
  | { type: 'delivered'; id: number; count: number }
  /**
   * Answer to `list`: the first matching connections from the asked counter on, in this worker's order
   * (its connection counter), and how many match from there in all.
   */
  | { type: 'listed'; id: number; connections: ConnectionFacts[]; matched: number }
  /** Answer to `note-expelled` (when its id is not 0): the worker will answer 204 to those sessions. */
  | { type: 'noted'; id: number }
  | { type: 'listening'; address: string }
  | { type: 'listen-failed'; code: string; port: number };

/** A worker's per-tick report, or a part of one (`more`). */
export type WorkerReport = Extract<WorkerMessage, { type: 'report' }>;

export type PrimaryMessage =
  /** Members on every OTHER source, so the worker can tell a new viewer the true count at once. */
  | { type: 'others'; entries: CountEntry[] }
  /** Throttled count pushes for viewers. */
  | { type: 'push'; entries: CountEntry[] }
  /** What the node's limits refuse now (see primary/admission-limits.ts); sent when it changes. */
  | { type: 'limits'; namespacesFull: boolean; fullAddresses: string[] }
  /** A 2.x notification: `data` is sent as is to every viewer of `ns`. */
  | { type: 'notify'; ns: string; data: string }
  | { type: 'exclude'; exclusions: Exclusion[] }
  /**
   * Sessions expelled by the device limit (here or on another node): the worker answers 204 from now on when
   * an expelled browser reconnects with that id as Last-Event-ID, and, when `id` is not 0, says `noted`.
   */
  | { type: 'note-expelled'; id: number; sessions: string[] }
  /** Sessions of this node expelled by the device limit, sent to every worker once all have noted them: the holder ends the stream. */
  | { type: 'expel'; sessions: string[] }
  /**
   * A targeted message: an SSE `event: {event}` or a WebSocket message frame to every viewer of this worker
   * that matches `target`. The worker answers `delivered` with the same id.
   */
  | { type: 'deliver'; id: number; target: DeliveryTarget; event: string; data: string }
  /**
   * Connections of this worker for the admin listing or a feed's snapshot: those of `ns` and `user` when
   * given, from connection counter `from` on, at most `limit`. The worker answers `listed` with the same id.
   */
  | { type: 'list'; id: number; ns: string | null; user: string | null; from: number; limit: number }
  /** Whether a live feed is open on this node: while one is, the reports carry `feed` events. */
  | { type: 'feed'; on: boolean }
  /** The auth secrets changed (a SIGHUP reload): verify tokens with these from now on. */
  | { type: 'auth-secrets'; secrets: AuthSecrets }
  /** What GET /readyz answers from now on: 200, or 503 with `reason` (one line). */
  | { type: 'readiness'; ready: boolean; reason: string }
  /** The node drains: end every stream, a share at a time, within `ms`, each told to come back after about `retryMs`. */
  | { type: 'drain'; ms: number; retryMs: number }
  | { type: 'shutdown' };

const MAX_NAME_LENGTH = 1024;

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME_LENGTH;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isArrayOf<T>(value: unknown, check: (item: unknown) => item is T): value is T[] {
  return Array.isArray(value) && value.every(check);
}

function isReportEntry(item: unknown): item is ReportEntry {
  return Array.isArray(item) && item.length === 3 && isName(item[0]) && isCount(item[1]) && isCount(item[2]);
}

function isCountEntry(item: unknown): item is CountEntry {
  return Array.isArray(item) && item.length === 2 && isName(item[0]) && isCount(item[1]);
}

const FEED_KINDS: readonly unknown[] = ['join', 'leave', 'page'];

function isFeedEvent(item: unknown): item is FeedEvent {
  return Array.isArray(item) && item.length === 3 && FEED_KINDS.includes(item[0]) && isSessionEntry(item[1]) && isCount(item[2]);
}

function isAddressEntry(item: unknown): item is AddressEntry {
  return Array.isArray(item) && item.length === 2 && isAddress(item[0]) && isCount(item[1]);
}

function isOptionalName(value: unknown): value is string | null {
  return value === null || isName(value);
}

function isDeliveryTarget(value: unknown): value is DeliveryTarget {
  if (typeof value !== 'object' || value === null) return false;
  const t = value as Record<string, unknown>;
  switch (t.kind) {
    case 'namespace': return isName(t.ns);
    case 'user': return isName(t.user);
    case 'connection': return isName(t.connection);
    default: return false;
  }
}

/** Where a new worker finds the auth secrets when a reload changed them since the daemon started. */
export const AUTH_SECRETS_ENV = 'AUDIENCE_METER_AUTH_SECRETS';

/** The secrets in a new worker's environment, or undefined when absent or malformed (never throws). */
export function authSecretsFromEnv(text: string | undefined): AuthSecrets | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return isAuthSecrets(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** A secret file may hold a long key; the option parser already required 16 characters or more. */
const MAX_SECRET_LENGTH = 64 * 1024;

function isSecret(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_SECRET_LENGTH;
}

function isAuthSecrets(value: unknown): value is AuthSecrets {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Record<string, unknown>;
  return isSecret(s.current) && (s.previous === null || isSecret(s.previous)) && isCount(s.previousUntil);
}

function isExclusion(item: unknown): item is Exclusion {
  const e = item as Exclusion;
  return typeof item === 'object' && item !== null && isName(e.uuid) && isCount(e.at) && isCount(e.worker);
}

/** Returns the message if it is well-formed, else undefined (the caller drops it with a debug line). */
export function parseWorkerMessage(raw: unknown): WorkerMessage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'report':
      return isArrayOf(m.entries, isReportEntry) && isArrayOf(m.exclusions, isExclusion)
        && isArrayOf(m.entered, isSessionEntry) && isArrayOf(m.exited, isSessionExit)
        && (m.feed === undefined || isArrayOf(m.feed, isFeedEvent))
        && (m.addresses === undefined || isArrayOf(m.addresses, isAddressEntry))
        && (m.more === undefined || m.more === true) ? (m as WorkerMessage) : undefined;
    case 'delivered':
      return isCount(m.id) && isCount(m.count) ? (m as WorkerMessage) : undefined;
    case 'listed':
      return isCount(m.id) && isArrayOf(m.connections, isSessionEntry) && m.connections.length <= MAX_LISTED
        && isCount(m.matched) ? (m as WorkerMessage) : undefined;
    case 'noted':
      return isCount(m.id) ? (m as WorkerMessage) : undefined;
    case 'listening':
      return typeof m.address === 'string' ? (m as WorkerMessage) : undefined;
    case 'listen-failed':
      return typeof m.code === 'string' && isCount(m.port) ? (m as WorkerMessage) : undefined;
    default:
      return undefined;
  }
}

export function parsePrimaryMessage(raw: unknown): PrimaryMessage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'others':
    case 'push':
      return isArrayOf(m.entries, isCountEntry) ? (m as PrimaryMessage) : undefined;
    case 'notify':
      return isName(m.ns) && typeof m.data === 'string' ? (m as PrimaryMessage) : undefined;
    case 'exclude':
      return isArrayOf(m.exclusions, isExclusion) ? (m as PrimaryMessage) : undefined;
    case 'note-expelled':
      return isCount(m.id) && isArrayOf(m.sessions, isName) ? (m as PrimaryMessage) : undefined;
    case 'expel':
      return isArrayOf(m.sessions, isName) ? (m as PrimaryMessage) : undefined;
    case 'deliver':
      return isCount(m.id) && isDeliveryTarget(m.target) && isEventName(m.event)
        && typeof m.data === 'string' && m.data.length <= MAX_DELIVERY_DATA ? (m as PrimaryMessage) : undefined;
    case 'list':
      return isCount(m.id) && isOptionalName(m.ns) && isOptionalName(m.user) && isCount(m.from)
        && isCount(m.limit) && m.limit <= MAX_LISTED ? (m as PrimaryMessage) : undefined;
    case 'feed':
      return typeof m.on === 'boolean' ? (m as PrimaryMessage) : undefined;
    case 'auth-secrets':
      return isAuthSecrets(m.secrets) ? (m as PrimaryMessage) : undefined;
    case 'readiness':
      return typeof m.ready === 'boolean' && isName(m.reason) && !/[\r\n]/.test(m.reason) ? (m as PrimaryMessage) : undefined;
    case 'drain':
      return isCount(m.ms) && isCount(m.retryMs) ? (m as PrimaryMessage) : undefined;
    case 'limits':
      return typeof m.namespacesFull === 'boolean' && isArrayOf(m.fullAddresses, isAddress) ? (m as PrimaryMessage) : undefined;
    case 'shutdown':
      return m as PrimaryMessage;
    default:
      return undefined;
  }
}

/** A client address as the workers resolve it (an IPv4 or IPv6 text). */
function isAddress(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 64;
}
