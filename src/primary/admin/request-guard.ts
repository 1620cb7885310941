// What keeps a browser on another site from using the admin port, token or no token (DESIGN principle 5).
//
// DNS rebinding: a page on attacker.example makes its own name resolve to 127.0.0.1, and the browser then
// reads this port as if it were that site; its requests still say `Host: attacker.example`. So a request is
// served only when its Host is a name this port is reached by: a loopback name (`localhost`, `*.localhost`,
// which browsers never resolve elsewhere), a loopback address, the address the port is bound to (any of the
// host's addresses when bound to 0.0.0.0 or ::), or a name in --admin-hosts. No Host at all (HTTP/1.0
// scripts) is no browser. A request with the right --admin-token passes whatever its Host: a browser never
// adds that header by itself.
//
// Cross-site requests: `<img src="http://127.0.0.1:2442/ev/svc/msg">` on any page makes the browser send a
// GET with the operator's own network position. Routes that change something refuse a request that a
// browser marks as coming from elsewhere: Sec-Fetch-Site other than `same-origin` or `none` (typed in the
// address bar; `same-site` is refused too, as another port of the same host is another program), or an
// Origin other than this port's own. curl and 2.x scripts send neither header and pass.
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { isLoopback } from '../../options.js';

export interface HostRule {
  /** The address the admin port is bound to (--notification-host). */
  boundHost: string;
  /** --admin-hosts, lower case. */
  adminHosts: readonly string[];
}

const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::']);

/** host[:port] or [ipv6][:port], as a browser or curl writes it, and nothing else. */
const HOST_HEADER = /^(?:([A-Za-z0-9.-]{1,253})|\[([0-9A-Fa-f:.]{2,45})\])(?::\d{1,5})?$/;

/** The name part of a Host header, lower case, without port or IPv6 brackets; undefined when malformed. */
function hostName(header: string): string | undefined {
  const match = HOST_HEADER.exec(header);
  return match ? (match[1] ?? match[2]!).toLowerCase() : undefined;
}

export function hostChecker(rule: HostRule): (req: IncomingMessage) => string | undefined {
  const names = new Set([rule.boundHost.toLowerCase(), ...rule.adminHosts]);
  const anyAddress = WILDCARD_ADDRESSES.has(rule.boundHost);
  return (req) => {
    const header = req.headers.host;
    if (header === undefined) return undefined;
    const name = hostName(header);
    if (name === undefined) return 'malformed Host header';
    if (names.has(name) || isLoopback(name) || name.endsWith('.localhost') || (anyAddress && isIP(name) !== 0)) return undefined;
    return `Host ${name} is not a name of this admin port (operators' names go in --admin-hosts)`;
  };
}

/**
 * Why a request that changes something is refused as cross-site, or undefined. Sec-Fetch-Site, when the
 * browser sends it, is its own verdict and survives a proxy that rewrites Host; without it, the Origin must
 * be this port as the request names it (its Host), or a name in --admin-hosts (a TLS proxy in front).
 */
export function crossSiteChecker(rule: HostRule): (req: IncomingMessage) => string | undefined {
  const operatorNames = new Set(rule.adminHosts);
  return (req) => {
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined) return site === 'same-origin' || site === 'none' ? undefined : `cross-site request refused (Sec-Fetch-Site: ${site})`;
    const origin = req.headers.origin;
    if (origin === undefined) return undefined;
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      url = undefined;
    }
    // `null` (a sandboxed frame, a redirect across sites) and anything unparsable are another site too.
    if (url !== undefined && url.host !== '' && (url.host === req.headers.host?.toLowerCase() || operatorNames.has(url.hostname))) return undefined;
    return `cross-site request refused (Origin ${origin.slice(0, 100)})`;
  };
}
