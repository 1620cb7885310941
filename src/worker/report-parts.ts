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
// whole (primary/report-assembly.ts). The order is the report's: counts, then entries, then exits, and the
// rarer fields (exclusions, feed events, addresses) in the first part.
import type { ReportEntry, WorkerReport as Report } from '../protocol/ipc.js';
import type { SessionEntry, SessionExit } from '../protocol/sessions.js';

/** The most characters of JSON a part should come to, half of V8's large-object size: a margin for estimates and escapes. */
export const PART_CHARS = 64 * 1024;

/** About what JSON.stringify makes of each item: its keys and punctuation, plus the texts it carries. */
const COUNT_OVERHEAD = 32;
const ENTRY_OVERHEAD = 240;
const EXIT_OVERHEAD = 64;

const textLength = (s: string | null | undefined): number => (s ? s.length : 0);

function entryChars(e: SessionEntry): number {
  return ENTRY_OVERHEAD + e.session.length + e.connection.length + e.ns.length + textLength(e.user) + textLength(e.name)
    + textLength(e.page) + textLength(e.browser) + textLength(e.os) + textLength(e.device) + textLength(e.ip) + textLength(e.userAgent);
}

const countChars = (c: ReportEntry): number => COUNT_OVERHEAD + c[0].length;
const exitChars = (e: SessionExit): number => EXIT_OVERHEAD + e.session.length;

function reportChars(report: Report): number {
  let chars = 0;
  for (const count of report.entries) chars += countChars(count);
  for (const entry of report.entered) chars += entryChars(entry);
  for (const exit of report.exited) chars += exitChars(exit);
  return chars;
}

/** The report as one or more reports, each about PART_CHARS of JSON at most (an item larger than that goes alone). */
export function reportParts(report: Report, partChars = PART_CHARS): Report[] {
  if (reportChars(report) <= partChars) return [report];
  const parts: Report[] = [];
  const { feed, addresses } = report;
  let part: Report = { type: 'report', entries: [], exclusions: report.exclusions, entered: [], exited: [], ...(feed ? { feed } : {}), ...(addresses ? { addresses } : {}) };
  let chars = 0;
  /** The part the next item goes in: a new one when it would pass the bound. */
  const partFor = (itemChars: number): Report => {
    if (chars > 0 && chars + itemChars > partChars) {
      parts.push(part);
      part = { type: 'report', entries: [], exclusions: [], entered: [], exited: [] };
      chars = 0;
    }
    chars += itemChars;
    return part;
  };
  for (const count of report.entries) partFor(countChars(count)).entries.push(count);
  for (const entry of report.entered) partFor(entryChars(entry)).entered.push(entry);
  for (const exit of report.exited) partFor(exitChars(exit)).exited.push(exit);
  parts.push(part);
  for (let i = 0; i < parts.length - 1; i++) parts[i]!.more = true;
  return parts;
}
