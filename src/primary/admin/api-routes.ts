// The admin API's live views: the namespaces with their counts, the open connections (paged), the live
// feed of joins, leaves and page changes, and, when the attendance log is off, the last hour of counts
// from memory under the same path and shape as the stored history. The listing and the feed cover every
// node of a cluster (cluster-listing.ts, cluster-feed.ts); a forwarded request gets this node's only.
import { answer } from './answer.js';
import type { AudienceTable } from '../audience-table.js';
import { describeConnection, type ConnectionsIndex } from '../connections-index.js';
import { HISTORY_WINDOW_MS, type MemberHistory } from '../member-history.js';
import { ClusterFeed } from './cluster-feed.js';
import { listAcross, parseCursor, type ListingQuery, type NodePage } from './cluster-listing.js';
import type { EventFeed } from './event-feed.js';
import { isForwarded, type PeerAdmins } from './peer-admins.js';
import { namespaceParam, timeParam, userParam, type Parsed } from './report-params.js';
import { sendJson } from './respond.js';
import type { Route } from './server.js';

export interface ApiDeps {
  table: AudienceTable;
  connections: ConnectionsIndex;
  feed: EventFeed;
  /** Distinct identified users watching `ns` on every node of the cluster. */
  usersIn(ns: string): number;
  peers: PeerAdmins;
}

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

const iso = (ms: number): string | null => (ms > 0 ? new Date(ms).toISOString() : null);

function optional<T>(raw: string | null, parse: (raw: string) => Parsed<T>): Parsed<T | undefined> {
  return raw === null || raw === '' ? { ok: true, value: undefined } : parse(raw);
}

function integerParam(raw: string | null, name: string, fallback: number, max: number, min = 0): Parsed<number> {
  if (raw === null || raw === '') return { ok: true, value: fallback };
  if (!/^\d{1,15}$/.test(raw) || Number(raw) > max || Number(raw) < min) return { ok: false, reason: `${name} must be an integer from ${min} to ${max}` };
  return { ok: true, value: Number(raw) };
}

// URLSearchParams has already decoded query values; the path helpers expect them encoded.
const queryNamespace = (raw: string): Parsed<string> => namespaceParam(encodeURIComponent(raw));
const queryUser = (raw: string): Parsed<string> => userParam(encodeURIComponent(raw));

function localPage(connections: ConnectionsIndex, query: ListingQuery, after: number): NodePage {
  const page = connections.list({ ...query, after });
  return { connections: page.connections.map(describeConnection), next: page.next };
}

export function apiRoutes(deps: ApiDeps): Route[] {
  const clusterFeed = new ClusterFeed(deps.feed, deps.peers);
  return [
    {
      pattern: ['api', 'namespaces'],
      handle({ res }) {
        const namespaces = Array.from(deps.table.namespaces.values(), (r) => ({
          name: r.name,
          members: r.members,
          connections: r.connections,
          users: deps.usersIn(r.name),
          created: iso(r.created),
          modified: iso(r.modified),
        }));
        namespaces.sort((a, b) => b.members - a.members || a.name.localeCompare(b.name));
        sendJson(res, { namespaces });
      },
    },
    {
      pattern: ['api', 'connections'],
      async handle({ req, res, query }) {
        const ns = optional(query.get('ns'), queryNamespace);
        const user = optional(query.get('user'), queryUser);
        // An empty page would have no last connection to continue after.
        const limit = integerParam(query.get('limit'), 'limit', DEFAULT_PAGE, MAX_PAGE, 1);
        for (const parsed of [ns, user, limit]) if (!parsed.ok) return answer(res, 400, parsed.reason);
        if (!ns.ok || !user.ok || !limit.ok) return;
        const listing: ListingQuery = { ns: ns.value, user: user.value, limit: limit.value };
        if (isForwarded(req)) {
          // A peer walking the cluster: this node's own listing, its own cursor.
          const after = integerParam(query.get('after'), 'after', 0, Number.MAX_SAFE_INTEGER);
          if (!after.ok) return answer(res, 400, after.reason);
          const page = localPage(deps.connections, listing, after.value);
          return sendJson(res, { connections: page.connections, next: page.next === null ? null : String(page.next) });
        }
        const cursor = parseCursor(query.get('after'));
        if (!cursor.ok) return answer(res, 400, cursor.reason);
        const page = await listAcross(deps.peers, (wanted, after) => localPage(deps.connections, wanted, after), listing, cursor.value);
        // `next` is an opaque cursor: pass it back as ?after= for the following page.
        const { connections, next, unreachable } = page;
        sendJson(res, { connections, next, ...(unreachable.length > 0 ? { unreachable } : {}) });
      },
    },
    {
      pattern: ['api', 'events'],
      handle({ req, res, query }) {
        const ns = optional(query.get('ns'), queryNamespace);
        if (!ns.ok) return answer(res, 400, ns.reason);
        const feed = isForwarded(req) ? deps.feed : clusterFeed;
        feed.subscribe(res, ns.value, deps.connections.all(ns.value));
      },
    },
  ];
}

/** Only when the attendance log is off: with it on, the stored samples answer the same path. */
export function memoryHistoryRoute(history: MemberHistory, node: string): Route {
  return {
    pattern: ['api', 'namespaces', ':ns', 'history'],
    handle({ res, params, query }) {
      const ns = namespaceParam(params.ns!);
      if (!ns.ok) return answer(res, 400, ns.reason);
      const now = Date.now();
      const to = timeParam(query, 'to', now);
      if (!to.ok) return answer(res, 400, to.reason);
      const from = timeParam(query, 'from', to.value - HISTORY_WINDOW_MS);
      if (!from.ok) return answer(res, 400, from.reason);
      if (query.get('format') === 'csv') return answer(res, 404, 'CSV history needs the attendance log (--attendance)');
      const samples = history.samples(ns.value, from.value, to.value).map((s) => ({ at: new Date(s.at).toISOString(), members: s.members, node }));
      sendJson(res, { namespace: ns.value, from: new Date(from.value).toISOString(), to: new Date(to.value).toISOString(), samples });
    },
  };
}
