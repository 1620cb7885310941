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
  return {
    ...entry,
    node: facts.node,
    incarnation,
    ip: storedIp(entry.ip, facts.ipStorage),
    country: facts.country(entry.ip),
  };
}
