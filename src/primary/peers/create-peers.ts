// Picks the peers transport from the options: none without -m, UDP multicast with it.
import type { Options } from '../../options.js';
import { MulticastPeers } from './multicast.js';
import { nodeIdentity } from './node-identity.js';
import type { NodeCount, PeerSink, Peers } from './peers.js';
import { SingleNode } from './single-node.js';

export function createPeers(options: Options, localCounts: () => Iterable<NodeCount>, sink: PeerSink): Peers {
  if (!options.clusterAddr) return new SingleNode();
  return new MulticastPeers({
    group: options.clusterAddr,
    interfaceAddress: options.clusterInterface,
    ttl: options.clusterTtl,
    notifyIntervalMs: options.clusterNotifyInterval * 1000,
    nodeTimeoutMs: options.clusterNodeTimeout * 1000,
    secret: options.clusterSecret,
    identity: nodeIdentity(options.host, options.port),
  }, localCounts, sink);
}
