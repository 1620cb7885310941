// This worker's namespaces: which viewers each holds, how many are counted, and what changed since the
// last report to the primary. Reports carry absolute counts (DESIGN principle 1).
import type { CountEntry, ReportEntry } from '../protocol/ipc.js';
import { Viewer, type StreamSink } from './viewer.js';

export class Room {
  readonly viewers = new Set<Viewer>();
  /** Counted viewers on this worker. */
  members = 0;
  /** Viewers counted since the last report (the primary adds them to `connections`). */
  joined = 0;

  constructor(readonly name: string) {}
}

export class Hub {
  private readonly rooms = new Map<string, Room>();
  /** Members the rest of the cluster holds, per namespace, as last told by the primary. */
  private readonly others = new Map<string, number>();
  private changed = new Set<Room>();

  join(ns: string, sink: StreamSink, openedAt: number, uuid: string | undefined, session: string): Viewer {
    let room = this.rooms.get(ns);
    if (!room) {
      room = new Room(ns);
      this.rooms.set(ns, room);
    }
    const viewer = new Viewer(room, sink, openedAt, uuid, session);
    room.viewers.add(viewer);
    return viewer;
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

  broadcast(ns: string, frame: Buffer): void {
    const room = this.rooms.get(ns);
    if (room) for (const viewer of room.viewers) viewer.write(frame);
  }

  broadcastAll(frame: Buffer): void {
    for (const room of this.rooms.values()) for (const viewer of room.viewers) viewer.write(frame);
  }

  /** The worker is stopping: every stream ends, recorded as `shutdown`. */
  endAll(): void {
    for (const room of this.rooms.values()) for (const viewer of room.viewers) viewer.end('shutdown');
  }
}
