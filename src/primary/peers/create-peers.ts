// Picks the peers transport from the options: none without -m, UDP multicast with it.
import { logWarning } from '../../log.js';
import type { Options } from '../../options.js';
import { MulticastPeers } from './multicast.js';
import { nodeIdentity } from './node-identity.js';
import type { LocalState, PeerSink, Peers } from './peers.js';
import { SingleNode } from './single-node.js';

export function createPeers(options: Options, local: LocalState, sink: PeerSink): Peers {
  if (!options.clusterAddr) return new SingleNode();
  if (options.adminToken && options.notificationPort !== 0 && !options.clusterSecret) {
    // Admin requests forwarded to peers carry the token, and a peer is whoever advertises on the group.
    logWarning('--admin-token without --cluster-secret: any host that can send to the cluster group can pose as a node and receive the admin token with forwarded admin requests');
  }
  return new MulticastPeers({
    group: options.clusterAddr,
    interfaceAddress: options.clusterInterface,
    ttl: options.clusterTtl,
    notifyIntervalMs: options.clusterNotifyInterval * 1000,
    nodeTimeoutMs: options.clusterNodeTimeout * 1000,
    secret: options.clusterSecret,
    identity: nodeIdentity(options.host, options.port),
    adminPort: options.notificationPort,
  }, local, sink);
}
