// This node's answers to the other nodes' admin requests, whatever transport brings them: its own page of the
// listing, a message to its own viewers, its own live feed. The cluster seam calls these; nothing here asks
// another node, so no request can travel twice.
import type { NodeAdmin } from '../cluster/cluster.js';
import type { Monitor } from '../monitor.js';

export function nodeAdmin(monitor: Monitor): NodeAdmin {
  return {
    page: (query, after) => monitor.listing.page(query, after),
    deliver: (target, event, data) => monitor.deliver(target, event, data),
    watch: (ns, out) => monitor.feed.subscribe(out, ns, (wanted) => monitor.snapshot(wanted)),
  };
}
