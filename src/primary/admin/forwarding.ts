// Admin messages that concern other nodes, through the cluster seam: one for a connection another node holds,
// whose answer is relayed, and one for a user or a namespace, sent to every other node, the counts added up.
// A node that cannot answer is named in the answer rather than failing the whole request: the other nodes'
// viewers got the message.
import type { DeliveryTarget } from '../../protocol/ipc.js';
import type { Cluster } from '../cluster/cluster.js';

export interface NodesDelivery {
  /** Connections the answering nodes wrote the message to. */
  delivered: number;
  /** Ids of the nodes that did not answer in time. */
  unreachable: string[];
}

/** Sends the same message to every other node at once. */
export async function deliverOnNodes(cluster: Cluster, target: DeliveryTarget, event: string, data: string): Promise<NodesDelivery> {
  const nodes = cluster.nodes();
  const replies = await Promise.all(nodes.map((node) => cluster.requests.deliver(node, target, event, data)));
  const result: NodesDelivery = { delivered: 0, unreachable: [] };
  replies.forEach((reply, i) => {
    if (reply.ok) result.delivered += reply.value;
    else result.unreachable.push(nodes[i]!);
  });
  return result;
}
