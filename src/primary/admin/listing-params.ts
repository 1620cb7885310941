// The query of GET /api/connections, parsed the same way wherever a listing is asked for: by an operator, or
// by another node walking the cluster (the multicast transport's HTTP answers).
import type { ListingQuery } from '../cluster/cluster.js';
import { namespaceParam, userParam, type Parsed } from './report-params.js';

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

export function optional<T>(raw: string | null, parse: (raw: string) => Parsed<T>): Parsed<T | undefined> {
  return raw === null || raw === '' ? { ok: true, value: undefined } : parse(raw);
}

export function integerParam(raw: string | null, name: string, fallback: number, max: number, min = 0): Parsed<number> {
  if (raw === null || raw === '') return { ok: true, value: fallback };
  if (!/^\d{1,15}$/.test(raw) || Number(raw) > max || Number(raw) < min) return { ok: false, reason: `${name} must be an integer from ${min} to ${max}` };
  return { ok: true, value: Number(raw) };
}

// URLSearchParams has already decoded query values; the path helpers expect them encoded.
export const queryNamespace = (raw: string): Parsed<string> => namespaceParam(encodeURIComponent(raw));
const queryUser = (raw: string): Parsed<string> => userParam(encodeURIComponent(raw));

/** `ns`, `user` and `limit`; `after` is the caller's, as its shape depends on who asks. */
export function listingQuery(query: URLSearchParams): Parsed<ListingQuery> {
  const ns = optional(query.get('ns'), queryNamespace);
  const user = optional(query.get('user'), queryUser);
  // An empty page would have no last connection to continue after.
  const limit = integerParam(query.get('limit'), 'limit', DEFAULT_PAGE, MAX_PAGE, 1);
  if (!ns.ok) return ns;
  if (!user.ok) return user;
  if (!limit.ok) return limit;
  return { ok: true, value: { ns: ns.value, user: user.value, limit: limit.value } };
}
