// Picks the cluster transport from the options: a single node by default, UDP multicast with -m, Redis with
// --redis (the options make the two exclusive).
import { logWarning } from '../../log.js';
import type { Options } from '../../options.js';
import type { Cluster, ClusterSink, LocalState } from './cluster.js';
import { MulticastCluster } from './multicast.js';
import { nodeIdentity } from './node-identity.js';
import { RedisCluster } from './redis-cluster.js';
import { SingleNode } from './single-node.js';

export function createCluster(options: Options, local: LocalState, sink: ClusterSink): Cluster {
  const identity = nodeIdentity(options.host, options.port);
  // What every transport takes alike: rounds, liveness, the secret that keys user keys, who this node is.
  const common = {
    notifyIntervalMs: options.clusterNotifyInterval * 1000,
    nodeTimeoutMs: options.clusterNodeTimeout * 1000,
    secret: options.clusterSecret,
    identity,
  };
  if (options.redis) {
    return new RedisCluster({ ...common, url: options.redis, cluster: options.redisCluster, prefix: options.redisPrefix, maxDevices: options.maxDevices }, local, sink);
  }
  if (!options.clusterAddr) return new SingleNode(identity.id);
  if (options.adminToken && options.notificationPort !== 0 && !options.clusterSecret) {
    // Admin requests forwarded to peers carry the token, and a peer is whoever advertises on the group.
    logWarning('--admin-token without --cluster-secret: any host that can send to the cluster group can pose as a node and receive the admin token with forwarded admin requests');
  }
  return new MulticastCluster({
    group: options.clusterAddr,
    interfaceAddress: options.clusterInterface,
    ttl: options.clusterTtl,
    ...common,
    adminPort: options.notificationPort,
    adminToken: options.adminToken,
  }, local, sink);
}
