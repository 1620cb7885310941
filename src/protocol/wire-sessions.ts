// Identified sessions as nodes tell each other about them (datagram kinds 5 `sessions` and 6 `expelled`), so
// that the device limit and `users` cover the whole cluster. What crosses the network is the least that
// serves: the namespace, a key standing for the user, the entry time and the session id.
//
// The user key (src/primary/cluster/user-keys.ts) is 8 bytes, sent as they are.
//
// A session id travels as its 16 bytes (the daemon makes them, in base64url: clock then random, worker/session-ids.ts), whole: another node must
// recognise it as a Last-Event-ID to answer 204.
import type { ByteReader, ByteWriter } from './bytes.js';
import { MAX_NAME_BYTES } from './namespace.js';

export const SESSION_ID_BYTES = 16;
export const USER_KEY_BYTES = 8;
/** One session on the wire: id, user key, u48 entry time. */
export const WIRE_SESSION_BYTES = SESSION_ID_BYTES + USER_KEY_BYTES + 6;
/** The entry time that says a session ended on its node: receivers forget it. */
export const ENDED = 0;

export interface WireSession {
  ns: string;
  /** The user's key (src/primary/cluster/user-keys.ts): USER_KEY_BYTES × 2 hex digits. */
  user: string;
  session: string;
  /** Entry time, ms since the epoch; ENDED when the session ended. */
  at: number;
}

const USER_KEY = /^[0-9a-f]{16}$/;

/** The id's bytes, or undefined for a string that is not a session id as the daemon makes them. */
export function sessionIdBytes(id: string): Buffer | undefined {
  if (id.length !== 22) return undefined;
  const bytes = Buffer.from(id, 'base64url');
  return bytes.length === SESSION_ID_BYTES && bytes.toString('base64url') === id ? bytes : undefined;
}

/** Whether the wire can carry a session, and a receiver would accept it. */
function isSendable({ ns, user, session, at }: WireSession): boolean {
  const nameBytes = Buffer.byteLength(ns);
  return nameBytes > 0 && nameBytes <= MAX_NAME_BYTES && USER_KEY.test(user) && sessionIdBytes(session) !== undefined
    && Number.isSafeInteger(at) && at >= 0 && at < 2 ** 48;
}

/** The sessions the wire can carry, grouped by namespace as datagrams send them; the others are left out. */
export function sendableByNamespace(sessions: Iterable<WireSession>): Map<string, WireSession[]> {
  const byNs = new Map<string, WireSession[]>();
  for (const session of sessions) {
    if (!isSendable(session)) continue;
    const group = byNs.get(session.ns);
    if (group) group.push(session);
    else byNs.set(session.ns, [session]);
  }
  return byNs;
}

/** Writes a session that isSendable() accepted, without its namespace (datagrams group sessions by it). */
export function writeSession(writer: ByteWriter, { user, session, at }: WireSession): void {
  writer.bytes(sessionIdBytes(session)!);
  writer.bytes(Buffer.from(user, 'hex'));
  writer.u48(at);
}

export function readSession(reader: ByteReader, ns: string): WireSession {
  const session = readSessionId(reader);
  const user = reader.bytes(USER_KEY_BYTES).toString('hex');
  return { ns, user, session, at: reader.u48() };
}

export function readSessionId(reader: ByteReader): string {
  return reader.bytes(SESSION_ID_BYTES).toString('base64url');
}
