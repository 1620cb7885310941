// This node's answers to the other nodes' admin requests, whatever transport brings them: its own page of the
// listing, a message to its own viewers, its own live feed. The cluster seam calls these; nothing here asks
// another node, so no request can travel twice.
import type { NodeAdmin, ListingQuery, NodePage } from '../cluster/cluster.js';
import { describeConnection, type ConnectionsIndex } from '../connections-index.js';
import type { Monitor } from '../monitor.js';

export function localPage(connections: ConnectionsIndex, query: ListingQuery, after: number): NodePage {
  const page = connections.list({ ...query, after });
  return { connections: page.connections.map(describeConnection), next: page.next };
}

export function nodeAdmin(monitor: Monitor): NodeAdmin {
  return {
    page: (query, after) => localPage(monitor.connections, query, after),
    async deliver(target, event, data) {
      if (target.kind !== 'connection') return monitor.deliver(target, event, data, undefined);
      const info = monitor.connections.get(target.connection);
      return info ? monitor.deliver(target, event, data, info.worker) : undefined;
    },
    watch: (ns, out) => monitor.feed.subscribe(out, ns, monitor.connections.all(ns)),
  };
}
