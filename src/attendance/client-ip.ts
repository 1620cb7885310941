// The viewer's address as recorded with its session. The socket's peer is the truth unless the operator
// names the proxies in front (--trust-proxy): then X-Forwarded-For is read from the right, hop by hop,
// while each hop is a trusted proxy, and the first address that is not one is the client. A header from
// an untrusted peer is ignored, and so are the entries a client wrote itself before the first proxy
// appended the address it saw. `proxy-addr` (Express's) reads the header and matches the ranges.
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import proxyAddr from 'proxy-addr';

/** Whether an address (and its position from the socket, 0 = the peer) is a trusted proxy. */
export type ProxyTrust = (address: string, hop: number) => boolean;

/** Trusts no one: the socket's peer is the client. */
export const TRUST_NO_PROXY: ProxyTrust = () => false;

/** Compiled once per process from --trust-proxy (already checked by the option parser). */
export function compileProxyTrust(trusted: readonly string[]): ProxyTrust {
  return trusted.length === 0 ? TRUST_NO_PROXY : proxyAddr.compile([...trusted]);
}

export function clientIp(remoteAddress: string | undefined, forwardedFor: string | undefined, trust: ProxyTrust): string | null {
  if (!remoteAddress) return null;
  if (trust === TRUST_NO_PROXY || forwardedFor === undefined) return unmapped(remoteAddress);
  // [peer, its forwarded hops…, the first untrusted one]: the last entry is the client.
  // proxy-addr reads just these two fields; the raw fast path has no IncomingMessage to give it.
  const request = { headers: { 'x-forwarded-for': forwardedFor }, socket: { remoteAddress } } as unknown as IncomingMessage;
  const chain = proxyAddr.all(request, trust);
  // A trusted proxy that forwarded a malformed entry ends the chain: the last well-formed hop is kept.
  for (let i = chain.length - 1; i >= 0; i--) {
    if (isIP(chain[i]!) !== 0) return unmapped(chain[i]!);
  }
  return unmapped(remoteAddress);
}

/** `::ffff:192.0.2.1` (an IPv4 client on a dual-stack socket) is recorded as `192.0.2.1`. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
