// The public shape of a connection in the admin API and the live feed, made from the facts its worker keeps
// (worker/connection-listing.ts) when it is shown: the address as the attendance log would store it
// (--ip-storage), the country looked up on the full address here, where the GeoIP database lives (a SIGHUP
// reload reaches it), and no session id (it is what expels a stream).
import type { IpStorage } from '../attendance/attendance-options.js';
import type { CountryLookup } from '../attendance/geoip.js';
import { storedIp } from '../attendance/ip-privacy.js';
import type { ConnectionFacts } from '../protocol/ipc.js';

export type ConnectionView = Record<string, unknown>;
export type DescribeConnection = (facts: ConnectionFacts) => ConnectionView;

export function connectionDescriber(country: CountryLookup, ipStorage: IpStorage): DescribeConnection {
  return (facts) => ({
    id: facts.connection,
    ns: facts.ns,
    user: facts.user,
    name: facts.name,
    page: facts.page,
    transport: facts.transport,
    browser: facts.browser,
    os: facts.os,
    device: facts.device,
    country: country(facts.ip),
    address: storedIp(facts.ip, ipStorage),
    userAgent: facts.userAgent ?? null,
    since: new Date(facts.at).toISOString(),
  });
}
