// A worker's SessionEntry becomes the row the log stores: the primary adds its node label and this run's
// incarnation, keeps only as much of the address as --ip-storage allows, and looks the country up first.
import type { SessionEntry } from '../protocol/sessions.js';
import type { IpStorage } from './attendance-options.js';
import type { CountryLookup } from './geoip.js';
import { storedIp } from './ip-privacy.js';
import type { SessionRow } from './session-writes.js';

export interface RowFacts {
  node: string;
  ipStorage: IpStorage;
  country: CountryLookup;
}

export function sessionRow(entry: SessionEntry, facts: RowFacts, incarnation: string): SessionRow {
  // Built when the batch is written (the entry waits in the queue as it came, write-queue.ts), field by field
  // rather than a spread: the User-Agent, which no column stores, is left out.
  return {
    session: entry.session,
    connection: entry.connection,
    ns: entry.ns,
    user: entry.user,
    name: entry.name,
    at: entry.at,
    page: entry.page,
    browser: entry.browser,
    os: entry.os,
    device: entry.device,
    ip: storedIp(entry.ip, facts.ipStorage),
    transport: entry.transport,
    node: facts.node,
    incarnation,
    country: facts.country(entry.ip),
  };
}
