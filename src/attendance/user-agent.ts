// Browser, OS and device type from a User-Agent header, with ua-parser-js 1.x (MIT; 2.x is AGPL and must
// not be used). Parsing costs tens of microseconds of regular expressions, and a flash crowd arrives with a
// handful of distinct User-Agents, so results are cached by the header's exact text.
import UAParser from 'ua-parser-js';

export interface DeviceFacts {
  browser: string | null;
  os: string | null;
  /** ua-parser's type (mobile, tablet, smarttv, console, wearable, embedded), or desktop when it names none. */
  device: string | null;
}

const UNKNOWN: DeviceFacts = Object.freeze({ browser: null, os: null, device: null });
/** Distinct User-Agents remembered; the cache is emptied when full, which bounds it without bookkeeping. */
const CACHE_LIMIT = 2000;
const cache = new Map<string, DeviceFacts>();

export function deviceFacts(userAgent: string | undefined): DeviceFacts {
  if (userAgent === undefined || userAgent === '') return UNKNOWN;
  let facts = cache.get(userAgent);
  if (facts === undefined) {
    facts = parse(userAgent);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(userAgent, facts);
  }
  return facts;
}

function parse(userAgent: string): DeviceFacts {
  try {
    const { browser, os, device } = UAParser(userAgent);
    return Object.freeze({
      browser: joined(browser.name, browser.major),
      os: joined(os.name, os.version),
      // Without a browser or OS it is no desktop either: a script, a bot, or garbage.
      device: device.type ?? (browser.name || os.name ? 'desktop' : null),
    });
  } catch {
    return UNKNOWN; // a parser bug must not cost a viewer
  }
}

function joined(name: string | undefined, version: string | undefined): string | null {
  if (!name) return null;
  return version ? `${name} ${version}` : name;
}
