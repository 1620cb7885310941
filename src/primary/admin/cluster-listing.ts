// GET /api/connections across a cluster: the nodes' own listings one after the other, in node id order,
// each in its own arrival order, the other nodes' asked through the cluster seam. The cursor names a node and
// a place in that node's listing (`{node}.{n}`), so a page costs one request to each node it covers, never
// one to every node, and paging stays exact
// while nodes come and go: a node that is gone is skipped, one that joined is listed when the walk gets to
// its id. A node that cannot answer is skipped too, and named in the answer's `unreachable`.
import type { Cluster, ListingQuery, NodePage } from '../cluster/cluster.js';
import type { Parsed } from './report-params.js';

export type { ListingQuery, NodePage };

export interface Cursor {
  node: string;
  after: number;
}

export interface ClusterPage {
  connections: unknown[];
  next: string | null;
  unreachable: string[];
}

export function parseCursor(raw: string | null): Parsed<Cursor | undefined> {
  if (raw === null || raw === '') return { ok: true, value: undefined };
  const match = /^([0-9a-z]{1,64})\.(\d{1,15})$/.exec(raw);
  return match ? { ok: true, value: { node: match[1]!, after: Number(match[2]) } } : { ok: false, reason: 'after must be the next value of a previous answer' };
}

export async function listAcross(
  cluster: Cluster,
  localPage: (query: ListingQuery, after: number) => Promise<NodePage>,
  query: ListingQuery,
  cursor: Cursor | undefined,
): Promise<ClusterPage> {
  const nodes = [cluster.self, ...cluster.nodes()].sort();
  const page: ClusterPage = { connections: [], next: null, unreachable: [] };
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    if (cursor && node < cursor.node) continue;
    const after = cursor && node === cursor.node ? cursor.after : 0;
    const wanted = { ...query, limit: query.limit - page.connections.length };
    const part = node === cluster.self ? await localPage(wanted, after) : await nodePage(cluster, node, wanted, after);
    if (!part) {
      page.unreachable.push(node);
      continue;
    }
    page.connections.push(...part.connections);
    if (part.next !== null) return { ...page, next: `${node}.${part.next}` };
    if (page.connections.length === query.limit) return { ...page, next: i + 1 < nodes.length ? `${nodes[i + 1]}.0` : null };
  }
  return page;
}

/** Another node's own listing, or undefined when it gave none. */
async function nodePage(cluster: Cluster, node: string, query: ListingQuery, after: number): Promise<NodePage | undefined> {
  const reply = await cluster.requests.listConnections(node, query, after);
  return reply.ok && reply.value.connections.length <= query.limit ? reply.value : undefined;
}
