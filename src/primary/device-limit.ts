// The device limit's one rule, applied alike on every node: of a user's open sessions in a namespace, on any
// worker of any node, only the `max` newest may stay (newest by entry time, ties broken by session id), and
// every older one must go. The rule reads nothing but the set of open sessions, not the order in which they
// became known, so every node that knows the same sessions reaches the same decision; each one carries out
// its part (expelling its own sessions) and no node ever has to command another.
//
// Sessions expelled but still open (their exit not reported yet) stay in the set. Newer sessions always win,
// so they change nothing for a newcomer, and leaving them out would make the decision depend on what each
// node had decided before, which is history that nodes do not share.

/** What the rule needs of a session. */
export interface DeviceSession {
  readonly session: string;
  readonly ns: string;
  /** The user's key: the same user has the same key on every node. */
  readonly user: string;
  /** Entry time, ms since the epoch. */
  readonly at: number;
}

/** True when `a` entered before `b`; ties go by session id, the same way on every node. */
function older(a: DeviceSession, b: DeviceSession): boolean {
  return a.at < b.at || (a.at === b.at && a.session < b.session);
}

export class DeviceLimit<S extends DeviceSession> {
  /** Namespace → user key → that user's open sessions there, oldest first (a handful per user). */
  private readonly byUser = new Map<string, Map<string, S[]>>();

  /** `maxDevices` 0: no limit. */
  constructor(private readonly maxDevices: number) {}

  /** Adds an open session; returns its user's sessions in that namespace that are now beyond the limit, oldest first. */
  add(session: S): readonly S[] {
    let users = this.byUser.get(session.ns);
    if (!users) {
      users = new Map();
      this.byUser.set(session.ns, users);
    }
    let list = users.get(session.user);
    if (!list) {
      list = [];
      users.set(session.user, list);
    }
    // Sessions become known out of entry order (two workers' reports, other nodes' datagrams): keep it sorted.
    let at = list.length;
    while (at > 0 && older(session, list[at - 1]!)) at--;
    list.splice(at, 0, session);
    return this.maxDevices === 0 || list.length <= this.maxDevices ? [] : list.slice(0, list.length - this.maxDevices);
  }

  remove(session: S): void {
    const users = this.byUser.get(session.ns);
    const list = users?.get(session.user);
    if (!users || !list) return;
    const index = list.indexOf(session);
    if (index !== -1) list.splice(index, 1);
    if (list.length > 0) return;
    users.delete(session.user);
    if (users.size === 0) this.byUser.delete(session.ns);
  }

  /** Distinct users with an open session in `ns`. */
  users(ns: string): number {
    return this.byUser.get(ns)?.size ?? 0;
  }
}
