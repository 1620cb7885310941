// This node's identified sessions on Redis, as the script of redis-devices.ts takes them (it also decides the
// device limit): the changes the session registry reports, queued until the next flush, or the whole set after
// a join, an outage or a flush of Redis. Either goes in chunks, so that no script call grows with the number of
// sessions a node holds. RedisCluster makes the calls (numbering, publishing, what a timeout means): this file
// only holds the queue and turns a chunk into the script's arguments and its answer into decisions.
import { ENDED, type ClusterSession } from './cluster.js';
import { sessionValue } from './redis-device-members.js';
import type { SessionsScript } from './redis-devices.js';
import type { RedisNames } from './redis-keys.js';
import { VERSION } from './redis-messages.js';

/** Sessions per script call: a few thousand arguments, a message of about 100 KB. */
export const SESSIONS_PER_CALL = 1000;
/** How long every node answers an expelled session's reconnection with 204. */
export const EXPELLED_MS = 30_000;

/** A session the script found beyond the device limit, and the node that holds it. */
export type Eviction = [holder: string, session: string];

/** Sessions that opened, and ids of sessions that ended, as a state message carries them. */
export interface SessionPart {
  opened: ClusterSession[];
  ended: string[];
}

export class RedisSessions {
  /** Changes not asserted yet, in the order they happened. */
  private queued: ClusterSession[] = [];

  constructor(
    private readonly identity: { id: string; incarnation: number },
    private readonly names: RedisNames,
    /** This node's --max-devices: the limit its calls apply (0: none). */
    private readonly maxDevices: number,
    private readonly script: SessionsScript,
  ) {}

  /** Sessions that opened or ended (ENDED) here, for the next take(). */
  queue(changes: readonly ClusterSession[]): void {
    for (const change of changes) this.queued.push(change);
  }

  /** The queued changes, in calls of at most SESSIONS_PER_CALL (none when nothing is queued); the queue empties. */
  take(): SessionPart[] {
    const changes = this.queued;
    this.queued = [];
    return chunks(changes).filter((part) => part.opened.length > 0 || part.ended.length > 0);
  }

  /** Forgets the queue: a whole state follows, read afresh (an outage, a flush of Redis). */
  clear(): void {
    this.queued = [];
  }

  /**
   * One call of the script: `part` applied to this node's sessions (all of them replaced first when
   * `replace`: the first chunk of a whole state), the limit applied, `message` published with `seq` ('' for
   * none), `id` stored as the call's (CALL_FIELD).
   */
  send(part: SessionPart, replace: boolean, message: string, seq: number, id: string): Promise<(number | string)[]> {
    const { id: node, incarnation } = this.identity;
    const fields = part.opened.flatMap((s) => [s.session, sessionValue(s)]);
    const args = [node, incarnation, replace ? 1 : 0, this.maxDevices, this.names.state, message, seq, this.names.all, VERSION, EXPELLED_MS,
      part.opened.length, ...fields, part.ended.length, ...part.ended, id];
    return this.script([this.names.counts(node), this.names.sessions(node), this.names.devices, this.names.expelled], args);
  }
}

/** A list of sessions and ends in calls of at most SESSIONS_PER_CALL; always one at least (a whole state of none still replaces). */
export function chunks(changes: readonly ClusterSession[]): SessionPart[] {
  const parts: SessionPart[] = [];
  for (let start = 0; start < changes.length || start === 0; start += SESSIONS_PER_CALL) {
    const chunk = changes.slice(start, start + SESSIONS_PER_CALL);
    parts.push({ opened: chunk.filter((s) => s.at !== ENDED), ended: chunk.filter((s) => s.at === ENDED).map((s) => s.session) });
  }
  return parts;
}

/** The script's answer after its 1: holder, session pairs of the sessions now beyond the limit. */
export function evictionsOf(result: readonly (number | string)[]): Eviction[] {
  const evicted: Eviction[] = [];
  for (let i = 1; i + 1 < result.length; i += 2) evicted.push([String(result[i]), String(result[i + 1])]);
  return evicted;
}
