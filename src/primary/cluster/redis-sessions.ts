// This node's identified sessions on Redis, as the script of redis-devices.ts takes them (it also decides the
// device limit): the changes the session registry reports, queued until the next flush, or the whole set after
// a join, an outage or a flush of Redis. Either goes in chunks, so that no script call grows with the number of
// sessions a node holds: each chunk is one call and one state message, with its own sequence number.
import { ENDED, type ClusterSession } from './cluster.js';
import { sessionValue } from './redis-device-members.js';
import type { SessionsScript } from './redis-devices.js';
import type { RedisNames } from './redis-keys.js';
import { encodeState, VERSION } from './redis-messages.js';

/** Sessions per script call: a few thousand arguments, a message of about 100 KB. */
export const SESSIONS_PER_CALL = 1000;
/** How long every node answers an expelled session's reconnection with 204. */
export const EXPELLED_MS = 30_000;

/** A session the script found beyond the device limit, and the node that holds it. */
export type Eviction = [holder: string, session: string];

export interface SessionsCall {
  /** The sequence number of this node's next state message (shared with its counts' messages). */
  nextSeq(): number;
  /** The device limit's decisions of one call, as soon as it returns. */
  evicted(evictions: Eviction[]): void;
  /** Commands and bytes sent, for /api/nodes. */
  sent(commands: number, bytes: number): void;
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

  /** Sessions that opened or ended (ENDED) here, for the next assert(). */
  queue(changes: readonly ClusterSession[]): void {
    for (const change of changes) this.queued.push(change);
  }

  /**
   * Sends the queued changes, or (`whole`) every one of `current()` in place of whatever Redis holds for this
   * node (the queue is then dropped: `current()` is read at once, and holds them). Resolves false when Redis
   * no longer holds this incarnation's state (the caller asserts everything again); rejects when Redis fails.
   */
  async assert(whole: boolean, current: () => Iterable<ClusterSession>, call: SessionsCall): Promise<boolean> {
    const changes = whole ? [...current()] : this.queued;
    this.queued = [];
    // A whole assertion with no session still replaces what Redis held, so it sends one (empty) chunk.
    for (let start = 0; start < changes.length || (whole && start === 0); start += SESSIONS_PER_CALL) {
      const chunk = changes.slice(start, start + SESSIONS_PER_CALL);
      const part = whole ? { first: start === 0, last: start + SESSIONS_PER_CALL >= changes.length } : undefined;
      const result = await this.send(chunk, part, call);
      if (result[0] === -1) return false;
      const evicted: Eviction[] = [];
      for (let i = 1; i + 1 < result.length; i += 2) evicted.push([String(result[i]), String(result[i + 1])]);
      if (evicted.length > 0) call.evicted(evicted);
    }
    return true;
  }

  /** `whole`: which part of a whole assertion the chunk is (the first one replaces what Redis held). */
  private send(chunk: readonly ClusterSession[], whole: { first: boolean; last: boolean } | undefined, call: SessionsCall): Promise<(number | string)[]> {
    const opened = chunk.filter((s) => s.at !== ENDED);
    const ended = chunk.filter((s) => s.at === ENDED).map((s) => s.session);
    const { id, incarnation } = this.identity;
    const seq = call.nextSeq();
    const message = encodeState({ node: id, incarnation, seq, full: false, wholeSessions: whole, counts: [], opened, ended });
    const fields = opened.flatMap((s) => [s.session, sessionValue(s)]);
    const args = [id, incarnation, whole?.first ? 1 : 0, this.maxDevices, this.names.state, message, seq, this.names.all, VERSION, EXPELLED_MS,
      opened.length, ...fields, ended.length, ...ended];
    call.sent(1, message.length + fields.reduce((sum, field) => sum + field.length, 0));
    return this.script([this.names.counts(id), this.names.sessions(id), this.names.devices, this.names.expelled], args);
  }
}
