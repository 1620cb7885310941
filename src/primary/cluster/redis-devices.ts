// The device limit on Redis, decided in one script for the whole cluster (docs/cluster.md, "Device limit and
// users"). Every identified session of the cluster is a member of one sorted set, `devices`, ordered so that
// a user's sessions in a namespace are one range, oldest first (redis-device-members.ts). The script that
// applies a node's session changes applies the rule of device-limit.ts (the newest --max-devices stay) to
// every user it added a session for, in the same atomic step, so two nodes admitting the same user's devices
// at once cannot both keep theirs: the second script sees the first one's session. It removes the sessions
// beyond the limit from the set, notes them in `expelled` (answered 204 on every node for 30 s) and publishes
// them, each with its holder node, which expels it (ClusterSink.expel).
import { FORGET_DEVICES } from './redis-device-members.js';
import type { RedisLink } from './redis-link.js';
import { CALL_FIELD, checkSeq, INCARNATION_FIELD, SEQ_FIELD } from './redis-scripts.js';

/**
 * Applies some of this node's session changes (or, `whole`, replaces all of them: the first of the chunks of
 * a whole state's sessions), then the device limit to every user it added a session for; publishes the state
 * message the node encoded ('' for none: the chunks of a whole state but the last, which carries the
 * announcement that the whole state is in Redis), under the same numbering as ASSERT's (checkSeq), and the
 * decisions. Refuses (-1) when Redis no longer holds this incarnation's state (flushed, restarted, dropped):
 * the node then asserts everything again. Returns 1 followed by holder, session of every session now beyond
 * the limit.
 *
 * KEYS: counts:self, sessions:self, devices, expelled
 * ARGV: node, incarnation, whole, max devices (0: no limit), state channel, state message ('' for none), seq,
 *       broadcast channel, envelope version, ms an expulsion is remembered,
 *       then the count of opened sessions and their id, value pairs (sessionValue), then the count of ended
 *       sessions and their ids; and last, an id of this call (CALL_FIELD).
 */
const SESSIONS = `
${FORGET_DEVICES}
local node = ARGV[1]
if redis.call('HGET', KEYS[1], '${INCARNATION_FIELD}') ~= ARGV[2] then return {-1} end
${checkSeq('KEYS[1]')}
-- Applied from here on (an atomic script): a node whose call timed out asks for this id to learn it ran.
redis.call('HSET', KEYS[1], '${CALL_FIELD}', ARGV[#ARGV])
if ARGV[3] == '1' then
  forgetDevices(KEYS[3], KEYS[2], node)
  redis.call('DEL', KEYS[2])
end
local function member(value, id) return value .. '\\0' .. id .. '\\0' .. node end
-- The user's range in devices: the value up to its second \\0 (namespace and user key).
local function userOf(value)
  local a = string.find(value, '\\0', 1, true)
  local b = a and string.find(value, '\\0', a + 1, true)
  return b and string.sub(value, 1, b)
end
local touched = {}
local i = 11
local n = tonumber(ARGV[i])
for j = 1, n do
  local id, value = ARGV[i + 2 * j - 1], ARGV[i + 2 * j]
  local old = redis.call('HGET', KEYS[2], id)
  if old ~= value then
    if old then redis.call('ZREM', KEYS[3], member(old, id)) end
    redis.call('HSET', KEYS[2], id, value)
    redis.call('ZADD', KEYS[3], 0, member(value, id))
    local user = userOf(value)
    if user then touched[user] = true end
  end
end
i = i + 2 * n + 1
n = tonumber(ARGV[i])
for j = 1, n do
  local id = ARGV[i + j]
  local old = redis.call('HGET', KEYS[2], id)
  if old then
    redis.call('ZREM', KEYS[3], member(old, id))
    redis.call('HDEL', KEYS[2], id)
  end
end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], '${SEQ_FIELD}', ARGV[7])
  redis.call('PUBLISH', ARGV[5], ARGV[6])
end
local result = {1}
local max = tonumber(ARGV[4])
if max == 0 then return result end
local evicted = {}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for user in pairs(touched) do
  local from, to = '[' .. user, '[' .. user .. '\\255'
  local over = redis.call('ZLEXCOUNT', KEYS[3], from, to) - max
  if over > 0 then
    for _, m in ipairs(redis.call('ZRANGEBYLEX', KEYS[3], from, to, 'LIMIT', 0, over)) do
      redis.call('ZREM', KEYS[3], m)
      local a = string.find(m, '\\0', #user + 1, true)
      local b = a and string.find(m, '\\0', a + 1, true)
      local session, holder = b and string.sub(m, a + 1, b - 1), b and string.sub(m, b + 1)
      -- Anything else in the range (another program's data) is only removed.
      if b and string.match(session, '^[%w_-]+$') and #session == 22 and string.match(holder, '^[0-9a-f]+$') and #holder == 16 then
        redis.call('ZADD', KEYS[4], now, session)
        evicted[#evicted + 1] = {holder, session}
        result[#result + 1] = holder
        result[#result + 1] = session
      end
    end
  end
end
if #evicted > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(ARGV[10]))
  redis.call('PUBLISH', ARGV[8], cjson.encode({v = tonumber(ARGV[9]), t = 'evict', n = node, e = evicted}))
end
return result
`;

export type SessionsScript = (keys: [string, string, string, string], args: (string | number)[]) => Promise<(number | string)[]>;

/** Registers the script on a client (EVALSHA, and the script itself after a NOSCRIPT). */
export function defineSessionsScript(redis: RedisLink): SessionsScript {
  redis.defineCommand('audienceMeterSessions', { numberOfKeys: 4, lua: SESSIONS });
  const commands = redis as unknown as Record<string, (...args: (string | number)[]) => Promise<(number | string)[]>>;
  return (keys, args) => commands.audienceMeterSessions!(...keys, ...args);
}
