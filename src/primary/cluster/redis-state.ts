// One node's whole state as Redis holds it (its counts and sessions hashes, read in one transaction so they
// match), checked field by field: what another program or version left there is skipped and counted as
// `bad data under the prefix`, never trusted or fatal.
import type { ClusterSession, NodeCount } from './cluster.js';
import type { DropCounter } from './drop-counter.js';
import type { RedisNames } from './redis-keys.js';
import type { RedisLink } from './redis-link.js';
import { parseSessionValue } from './redis-device-members.js';
import { isNodeCount } from './redis-messages.js';
import type { NodeState } from './redis-nodes.js';
import { INCARNATION_FIELD, SEQ_FIELD } from './redis-scripts.js';

type Fields = Record<string, string>;

/** Undefined when Redis holds no state for `node` (dropped meanwhile, or a name without one); rejects when Redis fails. */
export async function readNodeState(redis: RedisLink, names: RedisNames, node: string, drops: DropCounter): Promise<NodeState | undefined> {
  const replies = await redis.multi().hgetall(names.counts(node)).hgetall(names.sessions(node)).exec();
  const [counts, sessions] = (replies ?? []).map(([error, value]) => (error ? undefined : value)) as [Fields | undefined, Fields | undefined];
  if (!counts || !sessions) throw new Error('the transaction failed');
  const incarnation = Number(counts[INCARNATION_FIELD]);
  if (!Number.isSafeInteger(incarnation) || incarnation <= 0) return undefined;
  const bad = (what: string, field: string): void => drops.drop('bad data under the prefix', 'redis', `${what} of node ${node}: ${JSON.stringify(field).slice(0, 80)}`);
  return { incarnation, seq: Number(counts[SEQ_FIELD] ?? 0) || 0, counts: parseCounts(counts, bad), sessions: parseSessions(sessions, bad) };
}

function parseCounts(fields: Fields, bad: (what: string, field: string) => void): NodeCount[] {
  const counts: NodeCount[] = [];
  for (const [ns, value] of Object.entries(fields)) {
    if (ns.startsWith('\u0000')) continue;
    const [members, connections] = value.split(' ').map(Number);
    const entry = [ns, members, connections];
    if (isNodeCount(entry)) counts.push(entry);
    else bad('counts', ns);
  }
  return counts;
}

function parseSessions(fields: Fields, bad: (what: string, field: string) => void): ClusterSession[] {
  const sessions: ClusterSession[] = [];
  for (const [id, value] of Object.entries(fields)) {
    const session = parseSessionValue(id, value);
    if (session) sessions.push(session);
    else bad('sessions', id);
  }
  return sessions;
}
