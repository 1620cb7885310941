// Who this node is to its peers. The id is stable across restarts (host name and public address), so a
// restarted node is recognised as the same one and its previous counts are replaced, not added to; the
// incarnation (start time in ms) tells the new run from the old.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { NODE_ID_BYTES, type NodeIdentity } from '../../protocol/datagram.js';

export function nodeIdentity(publicHost: string | undefined, publicPort: number, now = Date.now()): NodeIdentity {
  const id = createHash('sha256').update(`${hostname()}\0${publicHost ?? '*'}\0${publicPort}`).digest('hex').slice(0, NODE_ID_BYTES * 2);
  return { id, incarnation: now };
}
