// Uuid exclusions across nodes. A worker ends its stream of a uuid when an exclusion is newer: a later
// `at`, or the same `at` and a larger `worker` (src/worker/uuid-registry.ts). Worker ids repeat from node to
// node, so between nodes the tie-breaker is the node id instead: on the same millisecond the stream on the
// node with the larger id wins. The primary expresses that in the receiving worker's terms: `worker` is
// the largest possible value when the sender wins ties (as for a plain request, which ends every stream
// up to `at`) and 0 when it loses them (worker ids start at 1).
import type { WireExclusion } from '../../protocol/datagram.js';
import { PLAIN_REQUEST_WORKER, type Exclusion } from '../../protocol/ipc.js';

export function toWire({ uuid, at, worker }: Exclusion): WireExclusion {
  return { uuid, at, plain: worker === PLAIN_REQUEST_WORKER };
}

export function fromPeer({ uuid, at, plain }: WireExclusion, sender: string, self: string): Exclusion {
  const senderWinsTies = plain || sender > self;
  return { uuid, at, worker: senderWinsTies ? PLAIN_REQUEST_WORKER : 0 };
}
