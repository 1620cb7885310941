// The identified sessions the primary knows of: this node's, as its workers' reports announce them, and those
// of the other nodes of a cluster, as the cluster seam brings them. The primary sees every identified session
// of every worker here, so it enforces --max-devices across workers and nodes (the rule is in device-limit.ts;
// this node expels only its own sessions) unless the cluster decides it (Redis: see expelDecided), and counts
// the distinct users watching each namespace across the cluster. An anonymous viewer costs nothing here: its
// entry and exit go to the attendance log only. When a worker dies its sessions are dropped here (the
// attendance log closes its rows in the database).
//
// Users are grouped by their cluster key (Cluster.userKey), the same on every node: a user watching on two
// nodes is one user, not two.
import type { SessionEntry, SessionExit } from '../protocol/sessions.js';
import { ENDED, type ClusterSession } from './cluster/cluster.js';
import { userKeys } from './cluster/user-keys.js';
import { DeviceLimit } from './device-limit.js';

interface IdentifiedSession {
  readonly session: string;
  /** Who holds it: a worker of this node (its id), or another node (its audience-table source, a string). */
  readonly holder: number | string;
  readonly ns: string;
  /** The user's key. */
  readonly user: string;
  /** Entry time, ms: "oldest" means the smallest. */
  readonly at: number;
  /** This node told it to leave (its own sessions only); still open until its worker reports the exit. */
  expelled: boolean;
}

function isOwn(session: IdentifiedSession): boolean {
  return typeof session.holder === 'number';
}

function toCluster({ ns, user, session, at }: IdentifiedSession): ClusterSession {
  return { ns, user, session, at };
}

export class SessionRegistry {
  private readonly open = new Map<string, IdentifiedSession>();
  private readonly devices: DeviceLimit<IdentifiedSession>;
  /** This node's identified sessions that opened or ended since takeChanges(), by id: the latest news of each. */
  private changes = new Map<string, ClusterSession>();

  /**
   * `maxDevices` 0: no limit. `userKey` must be the same function on every node (Cluster.userKey).
   * `decidesHere` false (Cluster.decidesDeviceLimit: Redis takes the decisions, in one script for the whole
   * cluster) leaves the limit to the cluster, which names this node's sessions to expel (expelDecided); the
   * registry then only counts users. Asked at each new session, since a transport may decide only while joined.
   */
  constructor(
    maxDevices: number,
    private readonly userKey: (ns: string, user: string) => string = userKeys(undefined),
    private readonly decidesHere: () => boolean = () => true,
  ) {
    this.devices = new DeviceLimit(maxDevices);
  }

  /** Records a worker's entries and exits; returns this node's sessions that must now be expelled. */
  apply(worker: number, entered: SessionEntry[], exited: SessionExit[]): string[] {
    // Exits of known sessions first: a device that left within this tick makes room for one that came.
    const later = exited.filter((exit) => !this.close(exit.session));
    const expel: string[] = [];
    for (const entry of entered) {
      if (entry.user === null || this.open.has(entry.session)) continue;
      this.add({ session: entry.session, holder: worker, ns: entry.ns, user: this.userKey(entry.ns, entry.user), at: entry.at, expelled: false }, expel);
    }
    // Then the exits of sessions that entered in this same report.
    for (const exit of later) this.close(exit.session);
    return expel;
  }

  /** A worker is gone: its sessions no longer count (the attendance log closes them in the database). */
  dropWorker(worker: number): void {
    for (const session of this.open.values()) {
      if (session.holder === worker) this.close(session.session);
    }
  }

  /**
   * Records what another node (`peer`, its audience-table source) advertises: sessions it holds and sessions
   * that ended there. Returns this node's sessions that must now be expelled, the same decision that node
   * and every other one takes.
   */
  applyPeer(peer: string, open: readonly ClusterSession[], ended: readonly string[]): string[] {
    for (const id of ended) {
      if (this.open.get(id)?.holder === peer) this.close(id);
    }
    const expel: string[] = [];
    for (const { session, ns, user, at } of open) {
      // Already known: advertised again (each round), or an id that is not that peer's to claim.
      if (this.open.has(session)) continue;
      this.add({ session, holder: peer, ns, user, at, expelled: false }, expel);
    }
    return expel;
  }

  /** Sessions the cluster decided are beyond the device limit: returns those of this node still open and not expelled yet, now expelled. */
  expelDecided(ids: readonly string[]): string[] {
    const expel: string[] = [];
    for (const id of ids) {
      const session = this.open.get(id);
      if (!session || !isOwn(session) || session.expelled) continue;
      session.expelled = true;
      expel.push(id);
    }
    return expel;
  }

  /** A peer is gone (said goodbye, silent past the timeout, restarted): its sessions no longer count. */
  dropPeer(peer: string): void {
    for (const session of this.open.values()) {
      if (session.holder === peer) this.close(session.session);
    }
  }

  /** This node's identified sessions, as advertised to the other nodes every round. */
  *advertised(): Iterable<ClusterSession> {
    for (const session of this.open.values()) {
      if (isOwn(session)) yield toCluster(session);
    }
  }

  /** This node's identified sessions that opened or ended (ENDED) since the last call; one opened and ended in between is left out. */
  takeChanges(): ClusterSession[] {
    if (this.changes.size === 0) return [];
    const changes = [...this.changes.values()];
    this.changes = new Map();
    return changes;
  }

  /** Distinct identified users with an open session in `ns`, on every node of the cluster. */
  users(ns: string): number {
    return this.devices.users(ns);
  }

  /** Identified sessions open on every node. */
  get size(): number {
    return this.open.size;
  }

  private add(session: IdentifiedSession, expel: string[]): void {
    this.open.set(session.session, session);
    if (isOwn(session)) this.changes.set(session.session, toCluster(session));
    const beyondLimit = this.devices.add(session);
    // Still added above when the cluster decides: the set counts the users.
    if (!this.decidesHere()) return;
    for (const beyond of beyondLimit) {
      // Another node's session beyond the limit is that node's to expel: it takes the same decision.
      if (!isOwn(beyond) || beyond.expelled) continue;
      beyond.expelled = true;
      expel.push(beyond.session);
    }
  }

  /** False when the session was not open. */
  private close(id: string): boolean {
    const session = this.open.get(id);
    if (!session) return false;
    this.open.delete(id);
    this.devices.remove(session);
    if (isOwn(session)) {
      // Its entry not advertised yet: the other nodes need not hear of it at all.
      if (this.changes.has(id)) this.changes.delete(id);
      else this.changes.set(id, { ...toCluster(session), at: ENDED });
    }
    return true;
  }
}
