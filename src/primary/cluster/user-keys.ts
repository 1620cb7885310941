// The key that stands for a user across the cluster: 8 bytes of HMAC-SHA256 of namespace and user id, keyed
// with --cluster-secret when there is one, in hex. User ids of any length fit a fixed size and never leave
// the node in clear (with a secret, nobody without it can even test a guess). Every node computes the same
// key for the same user, so the key is also what the session registry groups a user's sessions by, local
// ones included. Two users of one namespace share a key with a probability of about n² / 2⁶⁵ for n users:
// never, in practice.
import { createHmac } from 'node:crypto';
import { USER_KEY_BYTES } from '../../protocol/wire-sessions.js';

/** (namespace, user id) → user key; the same function on every node of a cluster. */
export type UserKeys = (ns: string, user: string) => string;

/** Without a cluster secret the key only keeps user ids out of plain sight: a guess can be tested. */
const UNKEYED = 'audience-meter user key';

export function userKeys(secret: string | undefined): UserKeys {
  const key = secret ?? UNKEYED;
  // A namespace has no control characters, so the line break cannot be part of it: no two pairs collide.
  return (ns, user) => createHmac('sha256', key).update(`${ns}\n${user}`).digest().toString('hex', 0, USER_KEY_BYTES);
}
