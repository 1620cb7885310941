// Admin requests that concern other nodes: one passed to the node that holds its target, whose answer is
// relayed as is, and one sent to every peer, whose answers are added up. A peer that cannot answer is named
// in the answer rather than failing the whole request: the other nodes' viewers got the message.
import type { ServerResponse } from 'node:http';
import { answer } from './answer.js';
import { debugFor } from '../../log.js';
import { refusal, type PeerAdmins } from './peer-admins.js';

const debug = debugFor('admin');

/** Relays the answer of the node that holds the target (502 or 504 with a reason when it gave none). */
export async function forwardToNode(res: ServerResponse, peers: PeerAdmins, node: string, path: string, body: string): Promise<void> {
  const peer = peers.get(node);
  if (!peer) return answer(res, 404, `no such connection: node ${node} is not in the cluster`);
  const reply = await peers.request(peer, 'POST', path, body);
  if (!reply.ok) return answer(res, reply.status, reply.reason);
  if (reply.status === 401) return answer(res, 502, refusal(peer, reply.status));
  res.writeHead(reply.status, { 'Content-Type': reply.type, 'Content-Length': Buffer.byteLength(reply.body), 'Cache-Control': 'no-store' });
  res.end(reply.body);
}

export interface PeersDelivery {
  /** Connections the answering peers wrote the message to. */
  delivered: number;
  /** Ids of the peers that did not answer `{"delivered": N}` in time. */
  unreachable: string[];
}

/** Sends the same message request to every peer at once. */
export async function deliverOnPeers(peers: PeerAdmins, path: string, body: string): Promise<PeersDelivery> {
  const everyPeer = peers.list();
  const replies = await Promise.all(everyPeer.map((peer) => peers.request(peer, 'POST', path, body)));
  const result: PeersDelivery = { delivered: 0, unreachable: [] };
  replies.forEach((reply, i) => {
    const peer = everyPeer[i]!;
    const count = reply.ok && reply.status === 200 ? deliveredIn(reply.body) : undefined;
    if (count !== undefined) {
      result.delivered += count;
      return;
    }
    if (reply.ok) debug('message on node %s: %s', peer.id, refusal(peer, reply.status));
    result.unreachable.push(peer.id);
  });
  return result;
}

function deliveredIn(body: string): number | undefined {
  try {
    const { delivered } = JSON.parse(body) as { delivered?: unknown };
    return Number.isSafeInteger(delivered) && (delivered as number) >= 0 ? (delivered as number) : undefined;
  } catch {
    return undefined;
  }
}
