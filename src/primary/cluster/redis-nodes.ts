// The other nodes of a Redis cluster as this node knows them: what each one asserts (its absolute counts per
// namespace and its identified sessions), the incarnation and sequence number of its latest state message,
// and what passes to the sink. A state message that does not follow the last one (a gap: a message missed
// while the subscription was down), or one saying that node asserted its whole state, is not applied: the
// caller reloads that node's whole state from Redis and hands it to replace(), which passes on only the
// differences. So nothing is ever added up from increments,
// and a node's share is dropped whole when it goes (DESIGN principle 1). Memory is bounded by the caps.
import { debugFor } from '../../log.js';
import { nodeSource, type ClusterSession, type ClusterSink, type NodeCount, type NodeInfo } from './cluster.js';
import type { DropCounter } from './drop-counter.js';
import type { StateMessage } from './redis-messages.js';

const debug = debugFor('cluster');

export interface NodeLimits {
  maxNodes: number;
  maxNamespacesPerNode: number;
  maxSessionsPerNode: number;
}

/** A node's whole state as read from Redis. */
export interface NodeState {
  incarnation: number;
  seq: number;
  counts: NodeCount[];
  sessions: ClusterSession[];
}

interface Known {
  incarnation: number;
  seq: number;
  lastSeen: number;
  /** ns → [members, connections] */
  readonly counts: Map<string, [number, number]>;
  readonly sessions: Map<string, ClusterSession>;
  /** State messages that arrived while its state was being reloaded, applied after it. */
  pending: StateMessage[] | undefined;
}

export class RedisNodes {
  private readonly nodes = new Map<string, Known>();

  constructor(
    private readonly self: { id: string; incarnation: number },
    private readonly limits: NodeLimits,
    private readonly sink: ClusterSink,
    private readonly drops: DropCounter,
  ) {}

  /** Applies a state message; returns the node whose state must be reloaded, when the message shows a gap. */
  receive(m: StateMessage, now: number): string | undefined {
    if (m.node === this.self.id) {
      if (m.incarnation !== this.self.incarnation) {
        this.drops.drop('own node id', 'redis', `incarnation ${m.incarnation} uses this node's id`,
          `state messages with this node's id ${this.self.id} come from another process: two nodes with the same host name and public address?`);
      }
      return undefined;
    }
    const known = this.nodes.get(m.node);
    if (known?.pending) {
      known.pending.push(m);
      return undefined;
    }
    if (known && m.incarnation < known.incarnation) return void this.drops.drop('old incarnation', 'redis', `node ${m.node}: ${m.incarnation}`);
    if (known && m.incarnation === known.incarnation && m.seq <= known.seq) return undefined;
    if (m.full) {
      // Its whole state is in Redis: read there, at this node's pace, not pushed to every node at once.
      this.startReload(m.node, now);
      return m.node;
    }
    if (!known || known.incarnation !== m.incarnation || m.seq !== known.seq + 1) {
      debug('node %s: state %d:%d does not follow %s: reloading it', m.node, m.incarnation, m.seq, known ? `${known.incarnation}:${known.seq}` : 'nothing');
      this.startReload(m.node, now).pending!.push(m);
      return m.node;
    }
    known.seq = m.seq;
    known.lastSeen = now;
    this.applyCounts(m.node, known, m.counts);
    this.applySessions(m.node, known, m.opened, m.ended);
    return undefined;
  }

  /** Marks a node as being reloaded (messages meanwhile wait); replace() or reloadFailed() ends it. */
  startReload(node: string, now: number): Known {
    let known = this.nodes.get(node);
    if (!known) {
      known = { incarnation: 0, seq: 0, lastSeen: now, counts: new Map(), sessions: new Map(), pending: undefined };
      this.nodes.set(node, known);
    }
    known.pending ??= [];
    return known;
  }

  reloadFailed(node: string): void {
    const known = this.nodes.get(node);
    if (known) known.pending = undefined;
  }

  /**
   * A node's whole state, read from Redis: only what differs from what was known is passed on. Returns the
   * node when a message that came in meanwhile says its state must be read again (a newer whole state).
   */
  replace(node: string, state: NodeState, now: number): string | undefined {
    let known = this.nodes.get(node);
    const pending = known?.pending;
    if (known && known.incarnation !== state.incarnation && known.incarnation !== 0) {
      debug('node %s restarted (incarnation %d, was %d): its previous state is dropped', node, state.incarnation, known.incarnation);
      this.sink.gone(nodeSource(node));
      this.nodes.delete(node);
      known = undefined;
    }
    if (!known) {
      if (this.nodes.size >= this.limits.maxNodes) {
        this.drops.drop('too many nodes', 'redis', `node ${node}`, `more than ${this.limits.maxNodes} nodes share this Redis prefix; the extra ones are ignored`);
        return undefined;
      }
      known = { incarnation: state.incarnation, seq: state.seq, lastSeen: now, counts: new Map(), sessions: new Map(), pending: undefined };
      this.nodes.set(node, known);
      debug('node %s joined (incarnation %d)', node, state.incarnation);
    }
    known.incarnation = state.incarnation;
    known.seq = state.seq;
    known.lastSeen = now;
    known.pending = undefined;
    const counts = new Map(state.counts.map(([ns, m, c]) => [ns, [m, c] as const]));
    const zeroed: NodeCount[] = [];
    for (const ns of known.counts.keys()) if (!counts.has(ns)) zeroed.push([ns, 0, 0]);
    this.applyCounts(node, known, [...zeroed, ...state.counts]);
    const open = new Set(state.sessions.map((s) => s.session));
    this.applySessions(node, known, state.sessions.filter((s) => !known.sessions.has(s.session)), [...known.sessions.keys()].filter((id) => !open.has(id)));
    // What came in while the state was read: the messages newer than it.
    let again: string | undefined;
    for (const m of pending ?? []) again = this.receive(m, now) ?? again;
    return again;
  }

  /** A node said goodbye or was dropped as silent (by any node): forget it, unless it is a newer incarnation. */
  gone(node: string, incarnation: number | null): void {
    const known = this.nodes.get(node);
    if (!known || (incarnation !== null && incarnation < known.incarnation)) return;
    this.forget(node, 'gone');
  }

  /** This node lost Redis for longer than the node timeout: the others count as silent. */
  forgetAll(why: string): void {
    for (const node of [...this.nodes.keys()]) this.forget(node, why);
  }

  /** Whether the node was heard from (a message or a reload) at or after `since` (ms). */
  heardSince(node: string, since: number): boolean {
    const known = this.nodes.get(node);
    return known !== undefined && known.lastSeen >= since;
  }

  ids(): string[] {
    return [...this.nodes.keys()].sort();
  }

  has(node: string): boolean {
    return this.nodes.has(node);
  }

  describe(): NodeInfo[] {
    return this.ids().map((id) => {
      const known = this.nodes.get(id)!;
      return { id, incarnation: known.incarnation, lastSeen: known.lastSeen / 1000, namespaces: known.counts.size, sessions: known.sessions.size };
    });
  }

  private forget(node: string, why: string): void {
    this.nodes.delete(node);
    debug('node %s left (%s): its counts are dropped', node, why);
    this.sink.gone(nodeSource(node));
  }

  private applyCounts(node: string, known: Known, entries: readonly NodeCount[]): void {
    const accepted: NodeCount[] = [];
    let overCap = 0;
    for (const entry of entries) {
      const [ns, members, connections] = entry;
      if (members === 0 && connections === 0) {
        if (!known.counts.delete(ns)) continue;
      } else if (known.counts.has(ns) || known.counts.size < this.limits.maxNamespacesPerNode) {
        known.counts.set(ns, [members, connections]);
      } else {
        overCap++;
        continue;
      }
      accepted.push(entry);
    }
    if (overCap > 0) {
      this.drops.drop('namespaces over the cap', 'redis', `node ${node}: ${overCap} namespaces`,
        `node ${node} asserts more than ${this.limits.maxNamespacesPerNode} namespaces; the extra ones are not counted`);
    }
    if (accepted.length > 0) this.sink.counts(nodeSource(node), accepted);
  }

  private applySessions(node: string, known: Known, opened: readonly ClusterSession[], ended: readonly string[]): void {
    const open: ClusterSession[] = [];
    const closed = ended.filter((id) => known.sessions.delete(id));
    let overCap = 0;
    for (const session of opened) {
      if (known.sessions.has(session.session)) continue;
      if (known.sessions.size >= this.limits.maxSessionsPerNode) {
        overCap++;
        continue;
      }
      known.sessions.set(session.session, session);
      open.push(session);
    }
    if (overCap > 0) {
      this.drops.drop('sessions over the cap', 'redis', `node ${node}: ${overCap} sessions`,
        `node ${node} asserts more than ${this.limits.maxSessionsPerNode} identified sessions; the extra ones count neither for the device limit nor for users`);
    }
    if (open.length > 0 || closed.length > 0) this.sink.sessions(nodeSource(node), open, closed);
  }
}
