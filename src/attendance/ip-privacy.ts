// --ip-storage, applied by the primary before anything is written: by default only the network a viewer
// came from is kept (/24 for IPv4, /48 for IPv6), which locates a region or an organisation, not a person.
import { isIP } from 'node:net';
import type { IpStorage } from './attendance-options.js';

export function storedIp(ip: string | null, mode: IpStorage): string | null {
  if (ip === null || mode === 'none') return null;
  if (mode === 'full') return fullIp(ip);
  return truncateIp(ip);
}

/**
 * The address as seen, in a form PostgreSQL's `inet` takes (a row it refused would hold back every batch
 * behind it): an IPv6 zone (`%eth0`) is dropped, and something that is not an address is not stored.
 */
function fullIp(ip: string): string | null {
  const address = ip.replace(/%.*$/, '');
  return isIP(address) === 0 ? null : address;
}

/** The /24 or /48 network address; null for something that is not an address (never stored as is). */
export function truncateIp(ip: string): string | null {
  const unmapped = /^::ffff:/i.test(ip) && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
  switch (isIP(unmapped)) {
    case 4:
      return unmapped.replace(/\.\d+$/, '.0');
    case 6: {
      const groups = ipv6Groups(unmapped);
      return groups ? `${groups.slice(0, 3).map((g) => g.toString(16)).join(':')}::` : null;
    }
    default:
      return null;
  }
}

/** The eight 16-bit groups of a valid IPv6 address (zone and embedded IPv4 handled). */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((g) => parseInt(g, 16));
}
