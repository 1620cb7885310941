// The open sessions of this node, as the workers' reports announce them. The primary is the one place that
// sees every session of every worker, so it enforces --max-devices (which session to expel), counts the
// distinct users watching each namespace, and closes the sessions of a worker that died (reason `crash`).
// Sessions on other nodes are not seen here: the device limit and `users` are per node for now.
import type { ExitReason, SessionEntry, SessionExit } from '../protocol/sessions.js';

interface OpenSession {
  readonly session: string;
  readonly worker: number;
  readonly ns: string;
  readonly user: string | null;
  /** Entry time, ms: "oldest" means the smallest. */
  readonly at: number;
  /** Told to leave; no longer counts against the limit, still open until its worker reports the exit. */
  expelled: boolean;
}

export class SessionRegistry {
  private readonly open = new Map<string, OpenSession>();
  /** Namespace → user → that user's open sessions there, oldest first (a handful per user). */
  private readonly byUser = new Map<string, Map<string, OpenSession[]>>();

  /** `maxDevices` 0: no limit. */
  constructor(private readonly maxDevices: number) {}

  /** Records a worker's entries and exits; returns the sessions that must now be expelled. */
  apply(worker: number, entered: SessionEntry[], exited: SessionExit[]): string[] {
    const expel: string[] = [];
    for (const entry of entered) {
      if (this.open.has(entry.session)) continue;
      const session: OpenSession = { session: entry.session, worker, ns: entry.ns, user: entry.user, at: entry.at, expelled: false };
      this.open.set(session.session, session);
      if (session.user !== null) this.addToUser(session, expel);
    }
    for (const exit of exited) this.close(exit.session);
    return expel;
  }

  /** A worker is gone: its open sessions end now, for `reason` (crash, or shutdown while stopping). */
  dropWorker(worker: number, reason: ExitReason, now: number): SessionExit[] {
    const exits: SessionExit[] = [];
    for (const session of this.open.values()) {
      if (session.worker !== worker) continue;
      exits.push({ session: session.session, at: Math.max(now, session.at), reason });
      this.close(session.session);
    }
    return exits;
  }

  /** Distinct identified users with an open session in `ns`. */
  users(ns: string): number {
    return this.byUser.get(ns)?.size ?? 0;
  }

  get size(): number {
    return this.open.size;
  }

  private addToUser(session: OpenSession, expel: string[]): void {
    let users = this.byUser.get(session.ns);
    if (!users) {
      users = new Map();
      this.byUser.set(session.ns, users);
    }
    const list = users.get(session.user!) ?? [];
    if (list.length === 0) users.set(session.user!, list);
    // Reports of two workers may arrive out of entry order: keep the list sorted by entry time.
    let at = list.length;
    while (at > 0 && list[at - 1]!.at > session.at) at--;
    list.splice(at, 0, session);
    if (this.maxDevices === 0) return;
    let devices = list.reduce((n, s) => (s.expelled ? n : n + 1), 0);
    for (const oldest of list) {
      if (devices <= this.maxDevices) break;
      if (oldest.expelled) continue;
      oldest.expelled = true;
      devices--;
      expel.push(oldest.session);
    }
  }

  private close(id: string): void {
    const session = this.open.get(id);
    if (!session) return;
    this.open.delete(id);
    if (session.user === null) return;
    const users = this.byUser.get(session.ns);
    const list = users?.get(session.user);
    if (!users || !list) return;
    const index = list.indexOf(session);
    if (index !== -1) list.splice(index, 1);
    if (list.length > 0) return;
    users.delete(session.user);
    if (users.size === 0) this.byUser.delete(session.ns);
  }
}
