// Finding this worker's viewers for targeted messages: by connection id (every viewer: one map entry keyed
// by a small integer, the id string itself is never kept) and by user (identified viewers only; anonymous
// ones cost nothing here). Namespaces are found through the hub's rooms.
import type { ConnectionIds } from './session-ids.js';
import type { Viewer } from './viewer.js';

export class ViewerDirectory {
  private readonly byConnection = new Map<number, Viewer>();
  private readonly byUser = new Map<string, Set<Viewer>>();
  private readonly userOf = new Map<Viewer, string>();

  constructor(private readonly ids: ConnectionIds) {}

  /** Gives the viewer its connection number and files it; `user` from a verified token, else null. */
  add(viewer: Viewer, user: string | null): void {
    viewer.connection = this.ids.take();
    this.byConnection.set(viewer.connection, viewer);
    if (user === null) return;
    this.userOf.set(viewer, user);
    let viewers = this.byUser.get(user);
    if (!viewers) this.byUser.set(user, (viewers = new Set()));
    viewers.add(viewer);
  }

  remove(viewer: Viewer): void {
    this.byConnection.delete(viewer.connection);
    const user = this.userOf.get(viewer);
    if (user === undefined) return;
    this.userOf.delete(viewer);
    const viewers = this.byUser.get(user);
    if (viewers?.delete(viewer) && viewers.size === 0) this.byUser.delete(user);
  }

  connection(id: string): Viewer | undefined {
    const counter = this.ids.counterOf(id);
    return counter === undefined ? undefined : this.byConnection.get(counter);
  }

  user(user: string): Iterable<Viewer> {
    return this.byUser.get(user) ?? [];
  }

  connectionId(viewer: Viewer): string {
    return this.ids.name(viewer.connection);
  }
}
