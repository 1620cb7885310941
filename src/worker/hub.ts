// This worker's namespaces: which viewers each holds, how many are counted, and what changed since the
// last report to the primary. Reports carry absolute counts (DESIGN principle 1).
import type { CountEntry, ReportEntry } from '../protocol/ipc.js';
import { KEEPALIVE_PUSH, type Push } from './push.js';
import type { Viewer } from './viewer.js';

export class Room {
  readonly viewers = new Set<Viewer>();
  /** Counted viewers on this worker. */
  members = 0;
  /** Viewers counted since the last report (the primary adds them to `connections`). */
  joined = 0;

  /**
   * When every viewer here last got bytes (ms since epoch): a push to the whole room or a keep-alive. A viewer
   * that joined later got its first count later still, so no stream here has been silent for longer.
   */
  constructor(readonly name: string, public wroteAt = Date.now()) {}
}

export class Hub {
  private readonly rooms = new Map<string, Room>();
  /** Members the rest of the cluster holds, per namespace, as last told by the primary. */
  private readonly others = new Map<string, number>();
  private changed = new Set<Room>();

  /** Adds a viewer made for `roomFor(ns)` (the other transports make their own). */
  add(viewer: Viewer): Viewer {
    viewer.room.viewers.add(viewer);
    return viewer;
  }

  /** The room of `ns`, created if needed; a room without viewers goes at the next report or leave. */
  roomFor(ns: string): Room {
    let room = this.rooms.get(ns);
    if (!room) {
      room = new Room(ns);
      this.rooms.set(ns, room);
    }
    return room;
  }

  count(viewer: Viewer): void {
    if (viewer.counted || !viewer.room.viewers.has(viewer)) return;
    viewer.counted = true;
    viewer.room.members++;
    viewer.room.joined++;
    this.changed.add(viewer.room);
  }

  leave(viewer: Viewer): void {
    const room = viewer.room;
    if (!room.viewers.delete(viewer)) return;
    if (viewer.counted) {
      room.members--;
      this.changed.add(room);
    } else if (room.viewers.size === 0 && room.members === 0 && !this.changed.has(room)) {
      // Left before being counted: nothing to report, the room can go now.
      this.rooms.delete(room.name);
    }
  }

  /** Whether `ns` has viewers on this worker or, as last told, elsewhere. */
  isLive(ns: string): boolean {
    return this.rooms.has(ns) || this.others.has(ns);
  }

  /** The count a new viewer sees first: everyone elsewhere, everyone counted here, and itself. */
  countFor(viewer: Viewer): number {
    return (this.others.get(viewer.room.name) ?? 0) + viewer.room.members + (viewer.counted ? 0 : 1);
  }

  setOthers(entries: CountEntry[]): void {
    for (const [ns, members] of entries) {
      if (members === 0) this.others.delete(ns);
      else this.others.set(ns, members);
    }
  }

  /** Absolute counts of the namespaces that changed since the last call; empty rooms are dropped once reported. */
  takeReport(): ReportEntry[] {
    if (this.changed.size === 0) return [];
    const entries: ReportEntry[] = [];
    for (const room of this.changed) {
      entries.push([room.name, room.members, room.joined]);
      room.joined = 0;
      if (room.viewers.size === 0) this.rooms.delete(room.name);
    }
    this.changed = new Set();
    return entries;
  }

  /** Sends `push` to every viewer of `ns`; returns how many it was written to. */
  broadcast(ns: string, push: Push, now = Date.now()): number {
    const room = this.rooms.get(ns);
    if (!room) return 0;
    room.wroteAt = now;
    let written = 0;
    for (const viewer of room.viewers) if (viewer.send(push)) written++;
    return written;
  }

  /**
   * The keep-alive, to the rooms that got nothing for `idleMs`: a room that had a push since needs none, so a
   * busy namespace costs no write per viewer for it.
   */
  keepAlive(now: number, idleMs: number): void {
    for (const room of this.rooms.values()) {
      if (now - room.wroteAt < idleMs) continue;
      room.wroteAt = now;
      for (const viewer of room.viewers) viewer.send(KEEPALIVE_PUSH);
    }
  }

  /** Calls `visit` with every viewer, as `viewers()` yields them, without a generator's cost per viewer. */
  forEachViewer(visit: (viewer: Viewer) => void): void {
    for (const room of this.rooms.values()) for (const viewer of room.viewers) visit(viewer);
  }

  /** Every viewer in a room, room by room; one whose connection is ending stays until its 'close'. */
  *viewers(): IterableIterator<Viewer> {
    for (const room of this.rooms.values()) yield* room.viewers;
  }

  /** Viewers whose connection the daemon has not begun to end. */
  openViewers(): number {
    let open = 0;
    for (const viewer of this.viewers()) if (viewer.endedFor === undefined) open++;
    return open;
  }

  /** The worker is stopping: every stream ends, recorded as `shutdown`. */
  endAll(): void {
    for (const room of this.rooms.values()) for (const viewer of room.viewers) viewer.end('shutdown');
  }
}
