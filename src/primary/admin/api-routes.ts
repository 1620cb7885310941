// The admin API's live views: the namespaces with their counts, the open connections (paged), the live
// feed of joins, leaves and page changes, and, when the attendance log is off, the last hour of counts
// from memory under the same path and shape as the stored history. The listing and the feed cover every
// node of a cluster (cluster-listing.ts, cluster-feed.ts), whatever transport carries the cluster.
import { answer } from './answer.js';
import type { AudienceTable } from '../audience-table.js';
import type { Cluster } from '../cluster/cluster.js';
import { HISTORY_WINDOW_MS, type MemberHistory } from '../member-history.js';
import { ClusterFeed } from './cluster-feed.js';
import { listAcross, parseCursor, type ListingQuery, type NodePage } from './cluster-listing.js';
import { httpFeedOutput, type EventFeed, type SnapshotSource } from './event-feed.js';
import { listingQuery, optional, queryNamespace } from './listing-params.js';
import { namespaceParam, timeParam } from './report-params.js';
import { sendJson } from './respond.js';
import type { Route } from './server.js';

export interface ApiDeps {
  table: AudienceTable;
  /** This node's own page of the listing, asked from its workers. */
  localPage(query: ListingQuery, after: number): Promise<NodePage>;
  /** This node's own snapshot for a feed, asked from its workers. */
  snapshot: SnapshotSource;
  feed: EventFeed;
  /** Distinct identified users watching `ns` on every node of the cluster. */
  usersIn(ns: string): number;
  cluster: Cluster;
}

const iso = (ms: number): string | null => (ms > 0 ? new Date(ms).toISOString() : null);

export function apiRoutes(deps: ApiDeps): Route[] {
  const clusterFeed = new ClusterFeed(deps.feed, deps.cluster);
  return [
    {
      pattern: ['api', 'namespaces'],
      handle({ res }) {
        const namespaces: { name: string; members: number; connections: number; users: number; created: string | null; modified: string | null }[] = [];
        deps.table.namespaces.forEach((r) => namespaces.push({
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
      async handle({ res, query }) {
        const listing = listingQuery(query);
        if (!listing.ok) return answer(res, 400, listing.reason);
        const cursor = parseCursor(query.get('after'));
        if (!cursor.ok) return answer(res, 400, cursor.reason);
        const page = await listAcross(deps.cluster, deps.localPage, listing.value, cursor.value);
        // `next` is an opaque cursor: pass it back as ?after= for the following page.
        const { connections, next, unreachable } = page;
        sendJson(res, { connections, next, ...(unreachable.length > 0 ? { unreachable } : {}) });
      },
    },
    {
      pattern: ['api', 'events'],
      handle({ res, query }) {
        const ns = optional(query.get('ns'), queryNamespace);
        if (!ns.ok) return answer(res, 400, ns.reason);
        clusterFeed.subscribe(httpFeedOutput(res), ns.value, deps.snapshot);
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
