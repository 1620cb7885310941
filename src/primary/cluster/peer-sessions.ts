// Other nodes' identified sessions, on the transport's side (datagram kinds 5 and 6): which ones each peer
// still advertises, a cap per peer, and which expulsions are news. A node sends the sessions it opened or
// ended at once, and all of its open ones every round: one it has not advertised within the node timeout
// has ended there, even when the datagram saying so was lost (absolute state, DESIGN principle 1). What
// passes goes to the sink, where main.ts hands it to the session registry.
import { ENDED, type WireSession } from '../../protocol/wire-sessions.js';
import type { DropCounter } from './drop-counter.js';
import type { ClusterSink } from './cluster.js';
import { RecentIds } from './recent-ids.js';

/** How long a node repeats each of its expulsions, once per round: browsers reconnect within seconds. */
export const EXPELLED_REPEAT_MS = 30_000;
/** Receivers remember longer than senders repeat, so a repeat is never news again. */
const EXPELLED_MEMORY_MS = 2 * EXPELLED_REPEAT_MS;
const MAX_EXPELLED_REMEMBERED = 50_000;

export interface PeerSessionLimits {
  /** A session not advertised again for longer is forgotten. */
  nodeTimeoutMs: number;
  maxSessionsPerPeer: number;
}

/** What this needs to know of a peer (the registry's Peer). */
interface PeerName {
  readonly id: string;
  /** Its audience-table source: how the sink names it. */
  readonly source: string;
  readonly address: string;
}

export class PeerSessions {
  /** Peer source → session id → ms when that peer last advertised it. */
  private readonly byPeer = new Map<string, Map<string, number>>();
  private readonly expelledNews = new RecentIds(EXPELLED_MEMORY_MS, MAX_EXPELLED_REMEMBERED);

  constructor(private readonly limits: PeerSessionLimits, private readonly sink: ClusterSink, private readonly drops: DropCounter) {}

  receive(peer: PeerName, sessions: readonly WireSession[], now: number): void {
    let seen = this.byPeer.get(peer.source);
    if (!seen) {
      seen = new Map();
      this.byPeer.set(peer.source, seen);
    }
    // The latest word on each id wins, so the sink gets two sets apart whatever order the datagram has.
    const open = new Map<string, WireSession>();
    const ended = new Set<string>();
    let overCap = 0;
    for (const session of sessions) {
      if (session.at === ENDED) {
        seen.delete(session.session);
        open.delete(session.session);
        ended.add(session.session);
      } else if (seen.has(session.session) || seen.size < this.limits.maxSessionsPerPeer) {
        seen.set(session.session, now);
        ended.delete(session.session);
        open.set(session.session, session);
      } else {
        overCap++;
      }
    }
    if (overCap > 0) {
      this.drops.drop('sessions over the cap', peer.address, `node ${peer.id}: ${overCap} sessions beyond ${this.limits.maxSessionsPerPeer}`,
        `node ${peer.id} advertises more than ${this.limits.maxSessionsPerPeer} identified sessions; the extra ones count neither for the device limit nor for users`);
    }
    if (open.size > 0 || ended.size > 0) this.sink.sessions(peer.source, [...open.values()], [...ended]);
  }

  /** Expulsions by any node: only the ones not passed on yet go to the sink. */
  expelled(sessions: readonly string[], now: number): void {
    const news = sessions.filter((session) => this.expelledNews.add(session, now));
    if (news.length > 0) this.sink.expelled(news);
  }

  /** Ends the sessions of live peers that were not advertised again within the node timeout. */
  expire(now: number): void {
    for (const [source, seen] of this.byPeer) {
      const stale: string[] = [];
      for (const [session, at] of seen) {
        if (now - at <= this.limits.nodeTimeoutMs) continue;
        seen.delete(session);
        stale.push(session);
      }
      if (stale.length > 0) this.sink.sessions(source, [], stale);
    }
  }

  /** The peer is gone (the sink hears that separately): nothing of it is kept. */
  forget(source: string): void {
    this.byPeer.delete(source);
  }
}
