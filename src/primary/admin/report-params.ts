// Reading the admin API's path and query values: each bad one is refused with a one-line reason (400).
import { CONTROL_CHARACTER, decodeName } from '../../protocol/namespace.js';
import type { Format } from './respond.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const MAX_USER_LENGTH = 2048;

export function namespaceParam(raw: string): Parsed<string> {
  const ns = decodeName(raw);
  return ns.ok ? { ok: true, value: ns.name } : { ok: false, reason: ns.reason };
}

/** A user id as a token's `sub` gave it. */
export function userParam(raw: string): Parsed<string> {
  let user: string;
  try {
    user = decodeURIComponent(raw);
  } catch {
    return { ok: false, reason: 'user is not valid percent-encoding' };
  }
  if (user === '') return { ok: false, reason: 'user is empty' };
  if (user.length > MAX_USER_LENGTH) return { ok: false, reason: `user is longer than ${MAX_USER_LENGTH} characters` };
  if (CONTROL_CHARACTER.test(user)) return { ok: false, reason: 'user contains a control character' };
  return { ok: true, value: user };
}

export function formatParam(query: URLSearchParams): Parsed<Format> {
  const format = query.get('format') ?? 'json';
  return format === 'json' || format === 'csv' ? { ok: true, value: format } : { ok: false, reason: 'format must be json or csv' };
}

/** A time as UNIX seconds (`1717243200`, fractions allowed) or ISO 8601 (`2024-06-01T12:00:00Z`); ms since epoch. */
export function timeParam(query: URLSearchParams, name: string, fallback: number): Parsed<number> {
  const raw = query.get(name);
  if (raw === null || raw === '') return { ok: true, value: fallback };
  const ms = /^\d{1,12}(\.\d+)?$/.test(raw) ? Math.round(Number(raw) * 1000)
    : /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : NaN;
  if (!Number.isFinite(ms)) return { ok: false, reason: `${name} must be UNIX seconds or an ISO 8601 time, e.g. 2024-06-01T12:00:00Z` };
  return { ok: true, value: ms };
}
