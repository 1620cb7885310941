// Which namespaces get series of their own in /metrics: the ones with the most viewers on this node, at
// most `limit`, so label cardinality stays bounded whatever the number of events (--metrics-namespaces).
import type { TableRecord } from './audience-table.js';

/** The `limit` namespaces this node holds most viewers of, most first; joins break ties. */
export function busiestNamespaces(records: Iterable<TableRecord>, limit: number): TableRecord[] {
  if (limit <= 0) return [];
  const held = [...records].filter((r) => r.localMembers > 0 || r.localConnections > 0);
  held.sort((a, b) => b.localMembers - a.localMembers || b.localConnections - a.localConnections || (a.name < b.name ? -1 : 1));
  return held.slice(0, limit);
}
