// Browser, OS and device type from a User-Agent header, with ua-parser-js 1.x (MIT; 2.x is AGPL and must
// not be used). Parsing costs tens of microseconds of regular expressions, and a flash crowd arrives with a
// few hundred distinct User-Agents, so results are cached by the header's text (see DeviceFactsCache).
import UAParser from 'ua-parser-js';

export interface DeviceFacts {
  browser: string | null;
  os: string | null;
  /** ua-parser's type (mobile, tablet, smarttv, console, wearable, embedded), or desktop when it names none. */
  device: string | null;
}

export const UNKNOWN_DEVICE: DeviceFacts = Object.freeze({ browser: null, os: null, device: null });
/** ua-parser-js 1.x reads no further than this (its UA_MAX_LENGTH): longer headers share the facts of their start. */
export const USER_AGENT_READ_LENGTH = 500;
/** Distinct User-Agents per cache generation: the cache holds at most twice this many. */
const GENERATION_SIZE = 1000;

/**
 * Device facts by User-Agent text, bounded without per-hit bookkeeping: two generations of at most `generation`
 * entries each. A hit in the young one costs one Map lookup; a hit in the old one moves the entry to the young
 * one; when the young one is full it becomes the old one and the previous old one is dropped. So the strings
 * in use survive a flood of one-off ones (a scanner, a bot farm), and memory stays bounded whatever arrives.
 */
export class DeviceFactsCache {
  private young = new Map<string, DeviceFacts>();
  private old = new Map<string, DeviceFacts>();

  constructor(private readonly generation = GENERATION_SIZE, private readonly parse: (userAgent: string) => DeviceFacts = parseDeviceFacts) {}

  facts(userAgent: string | undefined): DeviceFacts {
    if (userAgent === undefined || userAgent === '') return UNKNOWN_DEVICE;
    const key = userAgent.length > USER_AGENT_READ_LENGTH ? userAgent.slice(0, USER_AGENT_READ_LENGTH) : userAgent;
    let facts = this.young.get(key);
    if (facts !== undefined) return facts;
    facts = this.old.get(key) ?? this.parse(key);
    if (this.young.size >= this.generation) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, facts);
    return facts;
  }

  /** Entries held (both generations; an entry promoted from the old one may be counted twice). */
  get size(): number {
    return this.young.size + this.old.size;
  }
}

const shared = new DeviceFactsCache();

/** The facts of a User-Agent header, from this process's cache. */
export function deviceFacts(userAgent: string | undefined): DeviceFacts {
  return shared.facts(userAgent);
}

export function parseDeviceFacts(userAgent: string): DeviceFacts {
  try {
    const { browser, os, device } = UAParser(userAgent);
    return Object.freeze({
      browser: joined(browser.name, browser.major),
      os: joined(os.name, os.version),
      // Without a browser or OS it is no desktop either: a script, a bot, or garbage.
      device: device.type ?? (browser.name || os.name ? 'desktop' : null),
    });
  } catch {
    return UNKNOWN_DEVICE; // a parser bug must not cost a viewer
  }
}

function joined(name: string | undefined, version: string | undefined): string | null {
  if (!name) return null;
  return version ? `${name} ${version}` : name;
}
