// The viewer's address as recorded with its session. The socket's peer is the truth unless the operator
// says a proxy sits in front (--trust-proxy): then the first X-Forwarded-For entry, the original client as
// the first proxy saw it, is taken, and only if it is a well-formed address (a header is client input).
import { isIP } from 'node:net';

export function clientIp(remoteAddress: string | undefined, forwardedFor: string | undefined, trustProxy: boolean): string | null {
  if (trustProxy && forwardedFor !== undefined) {
    const comma = forwardedFor.indexOf(',');
    const first = (comma === -1 ? forwardedFor : forwardedFor.slice(0, comma)).trim();
    if (isIP(first) !== 0) return unmapped(first);
  }
  return remoteAddress ? unmapped(remoteAddress) : null;
}

/** `::ffff:192.0.2.1` (an IPv4 client on a dual-stack socket) is recorded as `192.0.2.1`. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
