// What nodes of a Redis cluster publish to each other, as JSON, and the checks that turn anything else found
// under the prefix (another program, another version, a hand-typed PUBLISH) into a dropped message with a
// reason, never an exception. Each parser returns the message or the reason it is refused.
import { MAX_DELIVERY_DATA, type DeliveryTarget } from '../../protocol/ipc.js';
import type { WireExclusion } from '../../protocol/datagram.js';
import { nameProblem } from '../../protocol/namespace.js';
import { sessionIdBytes } from '../../protocol/wire-sessions.js';
import type { ClusterSession, ListingQuery, NodeCount, NodePage } from './cluster.js';

/** Bumped when a message changes meaning: a node ignores another version's messages (and counts them). */
export const VERSION = 1;

/** A node's state changes (or, `full`, its whole state), one message per node per round at most. */
export interface StateMessage {
  node: string;
  incarnation: number;
  /** Per node and incarnation, +1 per message: a gap means a message was missed, and the node is reloaded. */
  seq: number;
  /**
   * The node's whole state is in Redis as of this seq (it asserted it in chunks): read it there. Such a
   * message carries no counts or sessions itself, so a whole state never goes through pub/sub to every node:
   * each reads it when it can (a mass join would otherwise buffer N × the cluster's state in Redis).
   */
  full: boolean;
  counts: NodeCount[];
  opened: ClusterSession[];
  ended: string[];
}

export type BroadcastMessage =
  | { t: 'gone'; node: string; incarnation: number | null }
  | { t: 'notify'; node: string; ns: string; data: string }
  | { t: 'exclude'; node: string; exclusions: WireExclusion[] }
  | { t: 'expelled'; node: string; sessions: string[] }
  /** The device limit's decisions in Redis (redis-devices.ts): [holder node, session] of each session beyond it. */
  | { t: 'evict'; node: string; evicted: [holder: string, session: string][] };

export type Request =
  | { k: 'page'; query: ListingQuery; after: number }
  | { k: 'deliver'; target: DeliveryTarget; event: string; data: string }
  | { k: 'watch'; ns: string | undefined }
  | { k: 'renew' }
  | { k: 'unwatch' };

/** Everything that arrives in a node's inbox: requests to it, replies to its requests, frames of feeds it watches. */
export type InboxMessage =
  | { t: 'req'; id: string; from: string; request: Request }
  | { t: 're'; id: string; from: string; ok: true; value: unknown }
  | { t: 're'; id: string; from: string; ok: false; status: 404 | 502; reason: string }
  | { t: 'feed'; id: string; from: string; frame: string }
  | { t: 'feed-end'; id: string; from: string; reason: string };

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const NODE_ID = /^[0-9a-f]{16}$/;
const USER_KEY = /^[0-9a-f]{16}$/;
const REQUEST_ID = /^[0-9a-z]{1,32}$/;
/** A message larger than this is refused before it is parsed: a full state of 100,000 namespaces is ~4 MB. */
export const MAX_MESSAGE_BYTES = 64 << 20;
const MAX_REASON = 500;
const MAX_FRAME = 1 << 20;

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
export const isNodeId = (value: unknown): value is string => typeof value === 'string' && NODE_ID.test(value);
const isName = (value: unknown): value is string => typeof value === 'string' && nameProblem(value) === undefined;
const isSessionId = (value: unknown): value is string => typeof value === 'string' && sessionIdBytes(value) !== undefined;
const isText = (value: unknown, max: number): value is string => typeof value === 'string' && value.length <= max;

function parseJson(raw: string): Json | undefined {
  if (raw.length > MAX_MESSAGE_BYTES) return undefined;
  try {
    const value: unknown = JSON.parse(raw);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The envelope every message shares: JSON, this version, a sender. */
function envelope(raw: string): Parsed<Json & { n: string }> {
  const message = parseJson(raw);
  if (!message) return { ok: false, reason: 'not a JSON object' };
  if (message.v !== VERSION) return { ok: false, reason: 'unsupported version' };
  if (!isNodeId(message.n)) return { ok: false, reason: 'bad node id' };
  return { ok: true, value: message as Json & { n: string } };
}

/** `[ns, members, connections]` as a node publishes and stores it. */
export function isNodeCount(item: unknown): item is NodeCount {
  return Array.isArray(item) && item.length === 3 && isName(item[0]) && isCount(item[1]) && isCount(item[2]);
}

/** `[session, ns, user key, entry time]`. */
export function toSessionTuple({ session, ns, user, at }: ClusterSession): [string, string, string, number] {
  return [session, ns, user, at];
}

export function fromSessionTuple(item: unknown): ClusterSession | undefined {
  if (!Array.isArray(item) || item.length !== 4) return undefined;
  const [session, ns, user, at] = item as unknown[];
  if (!isSessionId(session) || !isName(ns) || typeof user !== 'string' || !USER_KEY.test(user) || !isCount(at) || at === 0) return undefined;
  return { session, ns, user, at };
}

export function encodeState(m: StateMessage): string {
  return JSON.stringify({ v: VERSION, n: m.node, i: m.incarnation, s: m.seq, ...(m.full ? { f: 1 } : {}), c: m.counts, o: m.opened.map(toSessionTuple), e: m.ended });
}

export function parseState(raw: string): Parsed<StateMessage> {
  const parsed = envelope(raw);
  if (!parsed.ok) return parsed;
  const { n, i, s, f, c, o, e } = parsed.value;
  if (!isCount(i) || !isCount(s)) return { ok: false, reason: 'bad incarnation or sequence' };
  if (!Array.isArray(c) || !c.every(isNodeCount)) return { ok: false, reason: 'bad counts' };
  if (!Array.isArray(e) || !e.every(isSessionId)) return { ok: false, reason: 'bad sessions' };
  const opened = Array.isArray(o) ? o.map(fromSessionTuple) : [undefined];
  if (opened.some((session) => session === undefined)) return { ok: false, reason: 'bad sessions' };
  return { ok: true, value: { node: n, incarnation: i, seq: s, full: f === 1, counts: c, opened: opened as ClusterSession[], ended: e } };
}

export function encodeBroadcast(m: BroadcastMessage): string {
  switch (m.t) {
    case 'gone':
      return JSON.stringify({ v: VERSION, t: m.t, n: m.node, i: m.incarnation });
    case 'notify':
      return JSON.stringify({ v: VERSION, t: m.t, n: m.node, ns: m.ns, d: m.data });
    case 'exclude':
      return JSON.stringify({ v: VERSION, t: m.t, n: m.node, x: m.exclusions.map(({ uuid, at, plain }) => [uuid, at, plain ? 1 : 0]) });
    case 'expelled':
      return JSON.stringify({ v: VERSION, t: m.t, n: m.node, s: m.sessions });
    case 'evict':
      return JSON.stringify({ v: VERSION, t: m.t, n: m.node, e: m.evicted });
  }
}

export function parseBroadcast(raw: string): Parsed<BroadcastMessage> {
  const parsed = envelope(raw);
  if (!parsed.ok) return parsed;
  const m = parsed.value;
  switch (m.t) {
    case 'gone':
      if (m.i !== null && !isCount(m.i)) return { ok: false, reason: 'bad incarnation' };
      return { ok: true, value: { t: 'gone', node: m.n, incarnation: m.i as number | null } };
    case 'notify':
      if (!isName(m.ns) || !isText(m.d, MAX_DELIVERY_DATA)) return { ok: false, reason: 'bad notification' };
      return { ok: true, value: { t: 'notify', node: m.n, ns: m.ns, data: m.d } };
    case 'exclude': {
      const exclusions = Array.isArray(m.x) ? m.x.map(parseExclusion) : [undefined];
      if (exclusions.some((x) => x === undefined)) return { ok: false, reason: 'bad exclusions' };
      return { ok: true, value: { t: 'exclude', node: m.n, exclusions: exclusions as WireExclusion[] } };
    }
    case 'expelled':
      if (!Array.isArray(m.s) || !m.s.every(isSessionId)) return { ok: false, reason: 'bad expulsions' };
      return { ok: true, value: { t: 'expelled', node: m.n, sessions: m.s } };
    case 'evict':
      if (!Array.isArray(m.e) || !m.e.every(isEviction)) return { ok: false, reason: 'bad evictions' };
      return { ok: true, value: { t: 'evict', node: m.n, evicted: m.e } };
    default:
      return { ok: false, reason: 'unknown message type' };
  }
}

function isEviction(item: unknown): item is [string, string] {
  return Array.isArray(item) && item.length === 2 && isNodeId(item[0]) && isSessionId(item[1]);
}

function parseExclusion(item: unknown): WireExclusion | undefined {
  if (!Array.isArray(item) || item.length !== 3) return undefined;
  const [uuid, at, plain] = item as unknown[];
  return isName(uuid) && isCount(at) && (plain === 0 || plain === 1) ? { uuid, at, plain: plain === 1 } : undefined;
}

/** An inbox message as its sender writes it: the sender goes in the envelope. */
export type OutgoingInbox = InboxMessage extends infer M ? (M extends { from: string } ? Omit<M, 'from'> : never) : never;

export function encodeInbox(from: string, m: OutgoingInbox): string {
  return JSON.stringify({ v: VERSION, n: from, ...m });
}

export function parseInbox(raw: string): Parsed<InboxMessage> {
  const parsed = envelope(raw);
  if (!parsed.ok) return parsed;
  const m = parsed.value;
  if (typeof m.id !== 'string' || !REQUEST_ID.test(m.id)) return { ok: false, reason: 'bad request id' };
  const base = { id: m.id, from: m.n };
  switch (m.t) {
    case 'req': {
      const request = parseRequest(m.request);
      return request ? { ok: true, value: { t: 'req', ...base, request } } : { ok: false, reason: 'bad request' };
    }
    case 're':
      if (m.ok === true) return { ok: true, value: { t: 're', ...base, ok: true, value: m.value } };
      if ((m.status === 404 || m.status === 502) && isText(m.reason, MAX_REASON)) return { ok: true, value: { t: 're', ...base, ok: false, status: m.status, reason: m.reason } };
      return { ok: false, reason: 'bad reply' };
    case 'feed':
      return isText(m.frame, MAX_FRAME) ? { ok: true, value: { t: 'feed', ...base, frame: m.frame } } : { ok: false, reason: 'bad feed frame' };
    case 'feed-end':
      return isText(m.reason, MAX_REASON) ? { ok: true, value: { t: 'feed-end', ...base, reason: m.reason } } : { ok: false, reason: 'bad feed end' };
    default:
      return { ok: false, reason: 'unknown message type' };
  }
}

function parseRequest(value: unknown): Request | undefined {
  if (!isObject(value)) return undefined;
  switch (value.k) {
    case 'page': {
      const { query, after } = value;
      if (!isObject(query) || !isCount(after)) return undefined;
      const { ns, user, limit } = query;
      if ((ns !== undefined && !isName(ns)) || (user !== undefined && !isText(user, 1024)) || !isCount(limit) || limit < 1 || limit > 1000) return undefined;
      return { k: 'page', query: { ns: ns as string | undefined, user: user as string | undefined, limit }, after };
    }
    case 'deliver': {
      const { target, event, data } = value;
      if (!isTarget(target) || !isText(event, 200) || !isText(data, MAX_DELIVERY_DATA)) return undefined;
      return { k: 'deliver', target, event, data };
    }
    case 'watch':
      return value.ns === undefined || isName(value.ns) ? { k: 'watch', ns: value.ns as string | undefined } : undefined;
    case 'renew':
    case 'unwatch':
      return { k: value.k };
    default:
      return undefined;
  }
}

function isTarget(value: unknown): value is DeliveryTarget {
  if (!isObject(value)) return false;
  switch (value.kind) {
    case 'namespace':
      return isName(value.ns);
    case 'user':
      return isText(value.user, 1024) && value.user !== '';
    case 'connection':
      return isText(value.connection, 200) && value.connection !== '';
    default:
      return false;
  }
}

/** A page another node answered: the shape the listing needs, or undefined. */
export function parsePage(value: unknown, limit: number): NodePage | undefined {
  if (!isObject(value) || !Array.isArray(value.connections) || value.connections.length > limit) return undefined;
  const { connections, next } = value;
  if (next !== null && !isCount(next)) return undefined;
  return { connections, next: next as number | null };
}
