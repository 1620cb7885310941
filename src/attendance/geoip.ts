// The country of a viewer's address, from a MaxMind DB file (--geoip-db) read with `maxmind`. Looked up on
// the full address in the primary, before --ip-storage truncates it; the address itself is not kept for it.
// MaxMind publishes new files weekly: reload() (SIGHUP) reads the file again, and every lookup made from
// this database, in the live feed and in the attendance log, answers from the new one at once.
import { readFileSync } from 'node:fs';
import { Reader, type CountryResponse } from 'maxmind';

export type CountryLookup = (ip: string | null) => string | null;

export const NO_COUNTRY: CountryLookup = () => null;

export class CountryDatabase {
  private reader: Reader<CountryResponse>;

  /** Reads the whole file now; throws a one-line reason when it is missing or not a MaxMind DB. */
  constructor(private readonly path: string) {
    this.reader = readDatabase(path);
  }

  /** Reads the file again; on failure throws the reason and keeps answering from the database it had. */
  reload(): void {
    this.reader = readDatabase(this.path);
  }

  readonly lookup: CountryLookup = (ip) => {
    if (ip === null) return null;
    try {
      const record = this.reader.get(ip);
      return record?.country?.iso_code ?? record?.registered_country?.iso_code ?? null;
    } catch {
      return null; // an address the database cannot hold (IPv6 in an IPv4-only file)
    }
  };
}

function readDatabase(path: string): Reader<CountryResponse> {
  try {
    return new Reader<CountryResponse>(readFileSync(path));
  } catch (error) {
    throw new Error(`cannot read --geoip-db ${path}: ${(error as Error).message}`);
  }
}

/** A lookup of its own over `path` (the attendance log's when no shared database is given). */
export function openCountryLookup(path: string): CountryLookup {
  return new CountryDatabase(path).lookup;
}
