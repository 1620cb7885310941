// Which namespaces get series of their own in /metrics: the ones with the most viewers on this node, at
// most `limit`, so label cardinality stays bounded whatever the number of events (--metrics-namespaces).
import type { RecordVisits, TableRecord } from './audience-table.js';

/** What a series needs of a namespace: a copy, kept after the visit. */
export type BusyNamespace = Pick<TableRecord, 'name' | 'localMembers' | 'localConnections'>;

/**
 * The `limit` namespaces this node holds most viewers of, most first; joins break ties, then names. One pass
 * that keeps the `limit` best so far, so a scrape allocates nothing per namespace once that many are found
 * (the records may be the table's views, valid during the visit only: the ones kept are copied).
 */
export function busiestNamespaces(records: RecordVisits<TableRecord>, limit: number): BusyNamespace[] {
  const best: { name: string; localMembers: number; localConnections: number }[] = [];
  if (limit <= 0) return best;
  records.forEach((r) => {
    if (r.localMembers === 0 && r.localConnections === 0) return;
    if (best.length === limit && !busier(r, best[limit - 1]!)) return;
    // The one it displaces, overwritten: once `limit` are kept, nothing more is allocated.
    const entry = best.length === limit ? best.pop()! : { name: '', localMembers: 0, localConnections: 0 };
    entry.name = r.name;
    entry.localMembers = r.localMembers;
    entry.localConnections = r.localConnections;
    // Insertion by hand: splice would allocate the (empty) array of what it removed.
    let at = best.length;
    best.push(entry);
    for (; at > 0 && busier(entry, best[at - 1]!); at--) best[at] = best[at - 1]!;
    best[at] = entry;
  });
  return best;
}

/** Whether `a` comes before `b`: more viewers, then more joins, then the name (names are unique). */
function busier(a: BusyNamespace, b: BusyNamespace): boolean {
  if (a.localMembers !== b.localMembers) return a.localMembers > b.localMembers;
  if (a.localConnections !== b.localConnections) return a.localConnections > b.localConnections;
  return a.name < b.name;
}
