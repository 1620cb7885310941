// The default without -m or --redis: this node is the whole cluster, so there is nobody to tell anything and
// no other node to ask. It is joined at once: knowingly alone.
import type { Route } from '../admin/server.js';
import type { Cluster, ClusterReport, NodeReply, NodeRequests } from './cluster.js';
import { userKeys } from './user-keys.js';

export class SingleNode implements Cluster {
  readonly userKey = userKeys(undefined);

  constructor(readonly self: string) {}

  async start(): Promise<void> {}

  isJoined(): boolean {
    return true;
  }

  publishNotification(): string | undefined {
    return undefined;
  }

  publishExclusions(): void {}

  publishSessions(): void {}

  publishExpelled(): void {}

  /** Alone: the session registry decides for this node's workers. */
  decidesDeviceLimit(): boolean {
    return false;
  }

  describe(): ClusterReport {
    return { transport: 'none', peers: [], dropped: {} };
  }

  serve(): Route[] {
    return [];
  }

  nodes(): string[] {
    return [];
  }

  /** No other node to ask: every request names a node that is not in the cluster. */
  readonly requests: NodeRequests = {
    listConnections: async (node) => alone(node),
    deliver: async (node) => alone(node),
    watch(node, _ns, handlers) {
      queueMicrotask(() => handlers.end(alone(node).reason));
      return () => {};
    },
  };

  async stop(): Promise<void> {}
}

function alone(node: string): NodeReply<never> & { ok: false } {
  return { ok: false, status: 404, reason: `no such connection: node ${node} is not in the cluster` };
}
