// The open connections of this node as the admin API shows them: who, where, on which page, over what.
// Built from the session entries and exits the workers report (and the registry's crash/shutdown exits), and
// the page changes they report. Kept apart from the SessionRegistry, which only needs what the device limit
// needs; this one holds the few display facts of each connection, and nothing once it closes.
import type { SessionEntry } from '../protocol/sessions.js';

export interface ConnectionInfo {
  /** Order of arrival on this primary: the listing's stable order and its paging cursor. */
  readonly seq: number;
  readonly connection: string;
  readonly session: string;
  /** The worker holding it, read from the connection id; undefined for an id of another shape. */
  readonly worker: number | undefined;
  readonly ns: string;
  readonly user: string | null;
  readonly name: string | null;
  readonly transport: 'sse' | 'ws';
  readonly browser: string | null;
  readonly os: string | null;
  readonly device: string | null;
  readonly country: string | null;
  /** The viewer's address as the attendance log stores it (--ip-storage: full, truncated or none). */
  readonly address: string | null;
  readonly userAgent: string | null;
  /** The client's address as the worker resolved it: counted per address, never listed. */
  readonly ip: string | null;
  /** Entry time, ms since epoch. */
  readonly at: number;
  page: string | null;
  /** When `page` was last reported, ms since epoch. */
  pageAt: number;
}

export interface ListQuery {
  ns?: string;
  user?: string;
  limit: number;
  /** Connections after this cursor (a `seq`) only. */
  after: number;
}

/** `{node}-{worker}-{worker start}-{counter}`, as the workers' ConnectionIds make them. */
const CONNECTION_ID = /^([0-9a-z]+)-(\d+)-[0-9a-z]+-[0-9a-z]+$/;

export function parseConnectionId(id: string): { node: string; worker: number } | undefined {
  const match = CONNECTION_ID.exec(id);
  return match ? { node: match[1]!, worker: Number(match[2]) } : undefined;
}

export class ConnectionsIndex {
  /** By connection id, in arrival order (a Map keeps insertion order): the listing walks it as is. */
  private readonly byConnection = new Map<string, ConnectionInfo>();
  /** Exits name sessions, page changes name connections. */
  private readonly bySession = new Map<string, ConnectionInfo>();
  /** Open connections per client address (--max-conns-per-ip). */
  private readonly byAddress = new Map<string, number>();
  private nextSeq = 1;

  /** `onAddress` hears each address's new count of open connections. */
  constructor(private readonly onAddress: (ip: string, open: number) => void = () => {}) {}

  /** Returns the new connection, or undefined for an entry already known (a repeated report). */
  enter(entry: SessionEntry, { country, address }: { country: string | null; address: string | null }): ConnectionInfo | undefined {
    if (this.bySession.has(entry.session) || this.byConnection.has(entry.connection)) return undefined;
    const info: ConnectionInfo = {
      seq: this.nextSeq++,
      connection: entry.connection,
      session: entry.session,
      worker: parseConnectionId(entry.connection)?.worker,
      ns: entry.ns,
      user: entry.user,
      name: entry.name,
      transport: entry.transport,
      browser: entry.browser,
      os: entry.os,
      device: entry.device,
      country,
      address,
      userAgent: entry.userAgent ?? null,
      ip: entry.ip,
      at: entry.at,
      page: entry.page,
      pageAt: entry.at,
    };
    this.byConnection.set(info.connection, info);
    this.bySession.set(info.session, info);
    this.countAddress(info.ip, 1);
    return info;
  }

  /** Returns the connection that closed, or undefined when it was not open. */
  exit(session: string): ConnectionInfo | undefined {
    const info = this.bySession.get(session);
    if (!info) return undefined;
    this.bySession.delete(session);
    this.byConnection.delete(info.connection);
    this.countAddress(info.ip, -1);
    return info;
  }

  private countAddress(ip: string | null, delta: number): void {
    if (ip === null) return;
    const open = (this.byAddress.get(ip) ?? 0) + delta;
    if (open > 0) this.byAddress.set(ip, open);
    else this.byAddress.delete(ip);
    this.onAddress(ip, open);
  }

  /** Returns the connection whose page changed, or undefined when it is not open or the report is older. */
  page(connection: string, page: string, at: number): ConnectionInfo | undefined {
    const info = this.byConnection.get(connection);
    if (!info || at < info.pageAt) return undefined;
    info.page = page;
    info.pageAt = at;
    return info;
  }

  get(connection: string): ConnectionInfo | undefined {
    return this.byConnection.get(connection);
  }

  get size(): number {
    return this.byConnection.size;
  }

  /** One page of the listing; `next` is the cursor of the following page, null on the last. */
  list(query: ListQuery): { connections: ConnectionInfo[]; next: number | null } {
    const connections: ConnectionInfo[] = [];
    for (const info of this.byConnection.values()) {
      if (info.seq <= query.after) continue;
      if (query.ns !== undefined && info.ns !== query.ns) continue;
      if (query.user !== undefined && info.user !== query.user) continue;
      if (connections.length === query.limit) return { connections, next: connections.at(-1)!.seq };
      connections.push(info);
    }
    return { connections, next: null };
  }

  /** Every open connection, optionally of one namespace, in arrival order. */
  *all(ns?: string): Iterable<ConnectionInfo> {
    for (const info of this.byConnection.values()) if (ns === undefined || info.ns === ns) yield info;
  }

  /** Open connections per worker, for the metrics. */
  perWorker(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const info of this.byConnection.values()) {
      if (info.worker !== undefined) counts.set(info.worker, (counts.get(info.worker) ?? 0) + 1);
    }
    return counts;
  }
}

/** The public shape of a connection in the API and the feed (no session id: it is what expels a stream). */
export function describeConnection(info: ConnectionInfo): Record<string, unknown> {
  return {
    id: info.connection,
    ns: info.ns,
    user: info.user,
    name: info.name,
    page: info.page,
    transport: info.transport,
    browser: info.browser,
    os: info.os,
    device: info.device,
    country: info.country,
    address: info.address,
    userAgent: info.userAgent,
    since: new Date(info.at).toISOString(),
  };
}
