// The members of the `devices` sorted set, where the Redis transport decides the device limit for the whole
// cluster (redis-devices.ts), and the values of a node's sessions hash they are built from:
//
//   member: namespace \0 user key \0 entry time (15 digits) \0 session id \0 holder node
//   value:  namespace \0 user key \0 entry time (15 digits)        (sessions:<node>, field: session id)
//
// Every member has score 0, so the set is ordered by the members' bytes: a user's sessions in a namespace are
// one contiguous range, oldest first, ties by session id, the order of device-limit.ts. A member is rebuilt
// exactly from its hash field and value, with no JSON in Lua, wherever it must go: a session that ended, a
// whole re-assertion, a node dropped (DROP in redis-scripts.ts).
import type { ClusterSession } from './cluster.js';
import { fromSessionTuple } from './redis-messages.js';

/** Entry times are ms since the epoch, 13 digits until the year 2286: padded so that bytes order them. */
const AT_DIGITS = 15;

/** The hash value of a session: `ns \0 user \0 at`, the start of its member in `devices`. */
export function sessionValue({ ns, user, at }: ClusterSession): string {
  return `${ns}\u0000${user}\u0000${String(at).padStart(AT_DIGITS, '0')}`;
}

/** A session as a node's hash holds it; undefined for anything else (another program, another version). */
export function parseSessionValue(session: string, value: string): ClusterSession | undefined {
  const [ns, user, at, ...more] = value.split('\u0000');
  if (more.length > 0 || at === undefined || at.length !== AT_DIGITS || !/^[0-9]+$/.test(at)) return undefined;
  return fromSessionTuple([session, ns, user, Number(at)]);
}

/**
 * Lua: removes from the `devices` set every member of `node`, rebuilt from its sessions hash (which stays).
 * ZREM in batches: Lua's unpack() has a bounded stack.
 */
export const FORGET_DEVICES = `
local function forgetDevices(devices, sessions, node)
  local fields = redis.call('HGETALL', sessions)
  local batch = {}
  for i = 1, #fields, 2 do
    batch[#batch + 1] = fields[i + 1] .. '\\0' .. fields[i] .. '\\0' .. node
    if #batch == 500 then
      redis.call('ZREM', devices, unpack(batch))
      batch = {}
    end
  end
  if #batch > 0 then redis.call('ZREM', devices, unpack(batch)) end
end
`;

