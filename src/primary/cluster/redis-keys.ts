// Where a Redis cluster of audience-meter nodes keeps its state and talks, every name under --redis-prefix
// (pub/sub ignores database numbers, so the prefix is what keeps two clusters on one server apart). Every key
// carries the same hash tag, so the scripts that touch several of them run on a Redis Cluster too (in one
// slot: the state is small, see docs/cluster.md).
export interface RedisNames {
  readonly prefix: string;
  /** Sorted set: node id → when it last renewed its presence (ms, Redis's clock). */
  readonly nodes: string;
  /** Hash: namespace → "members connections", plus `\0incarnation`, `\0seq` and `\0call` (redis-scripts.ts): one node's own counts. */
  counts(node: string): string;
  /** Hash: session id → `ns \0 user key \0 entry time`: one node's identified sessions (redis-device-members.ts). */
  sessions(node: string): string;
  /** Sorted set, score 0: every identified session of the cluster, where the device limit is decided (redis-devices.ts). */
  readonly devices: string;
  /** Sorted set: session id → when it was expelled (ms): answered 204 on every node for a while. */
  readonly expelled: string;
  /** Channel: every node's state changes (counts, sessions), one message per node per round at most. */
  readonly state: string;
  /** Channel: news for every node (goodbyes and drops, notifications, exclusions, expulsions and the device limit's evictions). */
  readonly all: string;
  /** Channel: requests to one node and replies to it. */
  inbox(node: string): string;
}

/** The part of a key Redis Cluster hashes; one for the whole cluster. */
const TAG = '{cluster}';

export function redisNames(prefix: string): RedisNames {
  const key = `${prefix}${TAG}:`;
  return {
    prefix,
    nodes: `${key}nodes`,
    counts: (node) => `${key}counts:${node}`,
    sessions: (node) => `${key}sessions:${node}`,
    devices: `${key}devices`,
    expelled: `${key}expelled`,
    state: `${prefix}state`,
    all: `${prefix}all`,
    inbox: (node) => `${prefix}to:${node}`,
  };
}
