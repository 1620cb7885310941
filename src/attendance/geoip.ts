// The country of a viewer's address, from a MaxMind DB file (--geoip-db) read with `maxmind`. Looked up on
// the full address in the primary, before --ip-storage truncates it; the address itself is not kept for it.
import { readFileSync } from 'node:fs';
import { Reader, type CountryResponse } from 'maxmind';

export type CountryLookup = (ip: string | null) => string | null;

export const NO_COUNTRY: CountryLookup = () => null;

/** Reads the whole file once at start; throws a one-line reason when it is missing or not a MaxMind DB. */
export function openCountryLookup(path: string): CountryLookup {
  let reader: Reader<CountryResponse>;
  try {
    reader = new Reader<CountryResponse>(readFileSync(path));
  } catch (error) {
    throw new Error(`cannot read --geoip-db ${path}: ${(error as Error).message}`);
  }
  return (ip) => {
    if (ip === null) return null;
    try {
      const record = reader.get(ip);
      return record?.country?.iso_code ?? record?.registered_country?.iso_code ?? null;
    } catch {
      return null; // an address the database cannot hold (IPv6 in an IPv4-only file)
    }
  };
}
