// A report cut into IPC messages of bounded size. Under a fast churn one tick's report carried 1,000 entries and
// 1,000 exits (250–460 KB of JSON, up to 1.46 MB when the primary fell behind), and every string above V8's
// large-object size (128 KB) is allocated in its own space, which only a full collection empties: the
// primary's parse of each big report, caught by a young-generation collection while it ran, was promoted
// whole and stayed until the next full one (BENCHMARKS.md, issue 12, the churn ratchet). Parts of at most
// PART_CHARS keep every message, in the worker's JSON and in the primary's parse, an ordinary young object.
//
// The parts are sent together, as the one report on its way (report-channel.ts): the channel still carries one
// report per tick, whatever its size, and the next one waits until the last part is handed over. Each part is
// a report of the same shape, all but the last marked `more`: the primary puts them together and acts on the
// whole (primary/report-assembly.ts). Every list of the report is cut alike, in the report's order (counts,
// entries, exits, then exclusions, feed events and addresses), each list's items kept in their order: a busy
// live feed carries a connection's whole facts per event, as entries do, so it is no rarer than they are.
import type { AddressEntry, Exclusion, FeedEvent, ReportEntry, WorkerReport as Report } from '../protocol/ipc.js';
import type { SessionEntry, SessionExit } from '../protocol/sessions.js';

/** The most characters of JSON a part should come to, half of V8's large-object size: a margin for estimates and escapes. */
export const PART_CHARS = 64 * 1024;

/** About what JSON.stringify makes of each item: its keys and punctuation, plus the texts it carries. */
const COUNT_OVERHEAD = 32;
const ENTRY_OVERHEAD = 240;
const EXIT_OVERHEAD = 64;
const EXCLUSION_OVERHEAD = 48;
const FEED_OVERHEAD = 24;
const ADDRESS_OVERHEAD = 16;

const textLength = (s: string | null | undefined): number => (s ? s.length : 0);

function entryChars(e: SessionEntry): number {
  return ENTRY_OVERHEAD + e.session.length + e.connection.length + e.ns.length + textLength(e.user) + textLength(e.name)
    + textLength(e.page) + textLength(e.browser) + textLength(e.os) + textLength(e.device) + textLength(e.ip) + textLength(e.userAgent);
}

const countChars = (c: ReportEntry): number => COUNT_OVERHEAD + c[0].length;
const exitChars = (e: SessionExit): number => EXIT_OVERHEAD + e.session.length;
const exclusionChars = (e: Exclusion): number => EXCLUSION_OVERHEAD + e.uuid.length;
const feedChars = (e: FeedEvent): number => FEED_OVERHEAD + entryChars(e[1]);
const addressChars = (a: AddressEntry): number => ADDRESS_OVERHEAD + a[0].length;

const sumOf = <T>(items: readonly T[] | undefined, charsOf: (item: T) => number): number => {
  let chars = 0;
  for (const item of items ?? []) chars += charsOf(item);
  return chars;
};

function reportChars(r: Report): number {
  return sumOf(r.entries, countChars) + sumOf(r.entered, entryChars) + sumOf(r.exited, exitChars)
    + sumOf(r.exclusions, exclusionChars) + sumOf(r.feed, feedChars) + sumOf(r.addresses, addressChars);
}

const emptyPart = (): Report => ({ type: 'report', entries: [], exclusions: [], entered: [], exited: [] });

/** The report as one or more reports, each about PART_CHARS of JSON at most (an item larger than that goes alone). */
export function reportParts(report: Report, partChars = PART_CHARS): Report[] {
  if (reportChars(report) <= partChars) return [report];
  const parts: Report[] = [];
  let part = emptyPart();
  let chars = 0;
  /** The part the next item goes in: a new one when it would pass the bound. */
  const partFor = (itemChars: number): Report => {
    if (chars > 0 && chars + itemChars > partChars) {
      parts.push(part);
      part = emptyPart();
      chars = 0;
    }
    chars += itemChars;
    return part;
  };
  for (const count of report.entries) partFor(countChars(count)).entries.push(count);
  for (const entry of report.entered) partFor(entryChars(entry)).entered.push(entry);
  for (const exit of report.exited) partFor(exitChars(exit)).exited.push(exit);
  for (const exclusion of report.exclusions) partFor(exclusionChars(exclusion)).exclusions.push(exclusion);
  // The optional lists stay absent from a part that carries none of them, as from a report without them.
  for (const event of report.feed ?? []) (partFor(feedChars(event)).feed ??= []).push(event);
  for (const address of report.addresses ?? []) (partFor(addressChars(address)).addresses ??= []).push(address);
  parts.push(part);
  for (let i = 0; i < parts.length - 1; i++) parts[i]!.more = true;
  return parts;
}
