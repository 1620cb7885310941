// Every stream is a session. This worker announces each session's entry and exit to the primary in its
// next per-tick report and then forgets the entry's facts: all a viewer keeps is its session id and, when
// the daemon ends it, why. The primary decides device-limit expulsions; this worker carries them out.
import type { Identity } from '../attendance/identity.js';
import { UNKNOWN_DEVICE, deviceFacts } from '../attendance/user-agent.js';
import { MAX_USER_AGENT, type SessionEntry, type SessionExit } from '../protocol/sessions.js';
import { ExpelledSessions } from './expelled-sessions.js';
import { EXPELLED_PUSH } from './push.js';
import type { AddressCounts } from './address-counts.js';
import type { ConnectionListing } from './connection-listing.js';
import type { ConnectionIds } from './session-ids.js';
import type { Viewer } from './viewer.js';

/** What a stream request told about its viewer, gathered by whichever transport accepted it. */
export interface Visit {
  identity: Identity | null;
  /** `?page=`, else the Referer. */
  page: string | undefined;
  userAgent: string | undefined;
  ip: string | null;
}

/** Longest page recorded: a URL past this is cut (the IPC check refuses texts over 2048). */
const MAX_PAGE_LENGTH = 1024;

export class Sessions {
  private entered: SessionEntry[] = [];
  private exited: SessionExit[] = [];
  /** Identified viewers by session id, kept only when a device limit can expel them. */
  private readonly expellable = new Map<string, Viewer>();
  private readonly expelled = new ExpelledSessions();

  /**
   * `recordFacts`: whether anything will read a session's page, device and address (the attendance log, or
   * the admin port's connection listing and feed); without either, they are neither parsed nor sent.
   */
  constructor(
    private readonly connectionIds: ConnectionIds,
    private readonly deviceLimit: boolean,
    readonly recordFacts = true,
    /** What the admin port lists (with the admin port on), and the addresses --max-conns-per-ip counts (with it on). */
    private readonly kept: { listing?: ConnectionListing; addresses?: AddressCounts } = {},
  ) {}

  /** Starts the viewer's session; its connection number must be set (the viewer directory does that). */
  enter(viewer: Viewer, visit: Visit): void {
    const { identity } = visit;
    const device = this.recordFacts ? deviceFacts(visit.userAgent) : UNKNOWN_DEVICE;
    const entry: SessionEntry = {
      session: viewer.session,
      connection: this.connectionIds.name(viewer.connection),
      ns: viewer.room.name,
      user: identity?.user ?? null,
      name: identity?.name ?? null,
      at: viewer.openedAt,
      page: visit.page && this.recordFacts ? visit.page.slice(0, MAX_PAGE_LENGTH) : null,
      browser: device.browser,
      os: device.os,
      device: device.device,
      ip: visit.ip,
      transport: viewer.transport,
      userAgent: visit.userAgent && this.recordFacts ? visit.userAgent.slice(0, MAX_USER_AGENT) : null,
    };
    this.entered.push(entry);
    this.kept.listing?.add(viewer.connection, entry);
    this.kept.addresses?.add(viewer.connection, visit.ip);
    if (this.deviceLimit && identity) this.expellable.set(viewer.session, viewer);
  }

  exit(viewer: Viewer, at: number): void {
    this.expellable.delete(viewer.session);
    this.kept.listing?.remove(viewer.connection, at);
    this.kept.addresses?.remove(viewer.connection);
    this.exited.push({ session: viewer.session, at, reason: viewer.endedFor ?? 'left' });
  }

  /** Sessions expelled on any worker or node: their browsers' reconnections get 204 here from now on. */
  noteExpelled(sessions: string[], now: number): void {
    for (const session of sessions) this.expelled.add(session, now);
  }

  /** The primary expelled these sessions of this node: end the ones held here and remember them all. */
  expel(sessions: string[], now: number): void {
    for (const session of sessions) {
      this.expelled.add(session, now);
      const viewer = this.expellable.get(session);
      if (!viewer) continue;
      viewer.send(EXPELLED_PUSH);
      viewer.end('expelled');
    }
  }

  /** A reconnecting browser whose Last-Event-ID names an expelled session gets 204, so it stops trying. */
  wasExpelled(lastEventId: string | undefined, now: number): boolean {
    return lastEventId !== undefined && this.expelled.has(lastEventId, now);
  }

  take(): { entered: SessionEntry[]; exited: SessionExit[] } {
    const taken = { entered: this.entered, exited: this.exited };
    this.entered = [];
    this.exited = [];
    return taken;
  }
}
