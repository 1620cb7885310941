// The Lua scripts of the Redis transport. Each runs atomically, takes the time from Redis (TIME: one clock for
// every node, whatever their own clocks say), and names every key it touches in KEYS, all under one hash tag
// (redis-keys.ts), so it runs on a Redis Cluster as on one server. Redis 7.0 has no per-field TTL (HEXPIRE):
// a node's presence is its score in one sorted set, and a node whose score is older than the node timeout is
// dropped whole (its hashes deleted) by whichever node notices first; the drop is idempotent.
import { FORGET_DEVICES } from './redis-device-members.js';
import type { RedisLink } from './redis-link.js';

/** Hash fields that are not namespaces or sessions: names have no control characters, so these cannot clash. */
export const INCARNATION_FIELD = '\u0000incarnation';
export const SEQ_FIELD = '\u0000seq';
/**
 * The id of this node's last call that a script (ASSERT, or the sessions' script of redis-devices.ts) applied:
 * after a timeout the node asks whether its call ran. Both scripts take it as their very last argument.
 */
export const CALL_FIELD = '\u0000call';

/**
 * Lua, for both scripts that publish a node's state messages (ARGV[6] the message, '' for none; ARGV[7] its
 * seq; one numbering per node): a message must follow the last one Redis published for this node (seq = the
 * stored one + 1), else the script refuses it ({-2, stored seq}) before changing anything. After a call whose
 * outcome the node could not know (a timeout), it numbers its message from what Redis holds, so the others
 * never see a repeated number.
 */
export function checkSeq(counts: string): string {
  return `
if ARGV[6] ~= '' then
  local stored = tonumber(redis.call('HGET', ${counts}, '${SEQ_FIELD}') or '0')
  if stored ~= tonumber(ARGV[7]) - 1 then return {-2, stored} end
end`;
}

/**
 * This node's round (or an immediate change): renews its presence, applies its count changes to its counts
 * hash, publishes them, and returns the nodes whose presence is older than the timeout. `full` replaces its
 * whole counts (its sessions follow in redis-devices.ts's script); otherwise the script refuses (-1) when
 * Redis no longer holds this incarnation's state (flushed, restarted, or dropped while this node could not
 * reach it), and the node asserts everything at once. A message must follow the last one Redis published
 * for this node (checkSeq). A whole state goes in chunks: the first replaces (`full`; the sequence number
 * restarts from seq - 1, the last one this node published), the later ones (and the sessions' chunks) add
 * under the incarnation check, and only the very last call publishes (a message saying the whole state is in
 * Redis: the others read it there, at their pace).
 *
 * KEYS: nodes, counts:self
 * ARGV: node, incarnation, full, timeout ms, state channel, message ('' for none), seq,
 *       then two groups, each a count followed by its items: count fields and values, count fields to delete;
 *       and last, an id of this call, stored when the call is applied (CALL_FIELD).
 */
const ASSERT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], '${INCARNATION_FIELD}', ARGV[2])
  redis.call('HSET', KEYS[2], '${SEQ_FIELD}', tonumber(ARGV[7]) - 1)
elseif redis.call('HGET', KEYS[2], '${INCARNATION_FIELD}') ~= ARGV[2] then
  return {-1}
end
${checkSeq('KEYS[2]')}
local i = 8
local n = tonumber(ARGV[i])
for j = 1, n do redis.call('HSET', KEYS[2], ARGV[i + 2 * j - 1], ARGV[i + 2 * j]) end
i = i + 2 * n + 1
n = tonumber(ARGV[i])
for j = 1, n do redis.call('HDEL', KEYS[2], ARGV[i + j]) end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[2], '${SEQ_FIELD}', ARGV[7])
  redis.call('PUBLISH', ARGV[5], ARGV[6])
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[4]), 'LIMIT', 0, 16)
redis.call('HSET', KEYS[2], '${CALL_FIELD}', ARGV[#ARGV])
table.insert(expired, 1, 1)
return expired
`;

/**
 * Drops a node: one silent past the timeout (checked again here, so a node that renewed meanwhile stays, and
 * a second node noticing the same silence does nothing), or this node saying goodbye (only its own
 * incarnation: a goodbye of an old run cannot drop the new one). Its sessions leave the device limit's set
 * too. Returns 1 when it dropped the node.
 *
 * KEYS: nodes, counts:node, sessions:node, devices
 * ARGV: node, timeout ms or 'goodbye', incarnation (goodbye), broadcast channel, envelope version
 */
const DROP = `
${FORGET_DEVICES}
local incarnation = redis.call('HGET', KEYS[2], '${INCARNATION_FIELD}')
if ARGV[2] == 'goodbye' then
  if incarnation ~= ARGV[3] then return 0 end
else
  local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if not score then return 0 end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if now - tonumber(score) <= tonumber(ARGV[2]) then return 0 end
end
redis.call('ZREM', KEYS[1], ARGV[1])
forgetDevices(KEYS[4], KEYS[3], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3])
local known = incarnation and tonumber(incarnation) or cjson.null
redis.call('PUBLISH', ARGV[4], cjson.encode({v = tonumber(ARGV[5]), t = 'gone', n = ARGV[1], i = known}))
return 1
`;

export interface ClusterScripts {
  assertState(keys: [string, string], args: (string | number)[]): Promise<(number | string)[]>;
  dropNode(keys: [string, string, string, string], args: (string | number)[]): Promise<number>;
}

/** Registers the scripts on a client: ioredis sends EVALSHA, and the script itself after a NOSCRIPT (a restart). */
export function defineScripts(redis: RedisLink): ClusterScripts {
  redis.defineCommand('audienceMeterAssert', { numberOfKeys: 2, lua: ASSERT });
  redis.defineCommand('audienceMeterDrop', { numberOfKeys: 4, lua: DROP });
  const commands = redis as unknown as Record<string, (...args: (string | number)[]) => Promise<unknown>>;
  return {
    assertState: (keys, args) => commands.audienceMeterAssert!(...keys, ...args) as Promise<(number | string)[]>,
    dropNode: (keys, args) => commands.audienceMeterDrop!(...keys, ...args) as Promise<number>,
  };
}
