// What the primary's per-namespace structures cost in memory, measured on the structures alone: an audience
// table and the admin chart's history filled as a namespace flood leaves them at its peak (--namespaces
// namespaces, each with one viewer on one of two workers, half of them emptied and awaiting the clean delay,
// the history sampled once), then swept. Prints the V8 heap used and the memory outside it (ArrayBuffers)
// per namespace at the peak, and what stays once the flood is swept.
//
// A diagnostic, not the daemon: it forces collections to read live sizes, so it needs --expose-gc.
//
//   npm run build && node --expose-gc dist/bench/table-heap.js [--namespaces 10000] \
//     [--from other-checkout/dist/src/primary]   (the modules of another build, e.g. main's, for comparison)

import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

interface Table {
  setMembers(source: string, ns: string, members: number, now: number): void;
  addConnections(ns: string, count: number, now: number): void;
  sweep(now: number, cleanDelayMs: number): string[];
  /** What main.ts takes after each report (the changes it tells the workers). */
  takeChanged(): unknown;
  /** Visited as the daemon's chart samples it (builds from before the row views: --from of an older checkout no longer loads). */
  namespaces: { size: number; forEach(visit: (count: { name: string; members: number }) => void): void };
}
interface History {
  sample(counts: Pick<Table['namespaces'], 'forEach'>, at: number): void;
}

const gc = (globalThis as { gc?: () => void }).gc;

function measure(): { heap: number; outside: number } {
  for (let k = 0; k < 3; k++) gc!();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, outside: m.arrayBuffers };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { namespaces: { type: 'string', default: '10000' }, from: { type: 'string' } } });
  if (!gc) throw new Error('run with node --expose-gc');
  const n = Number(values.namespaces);
  const dir = values.from ? resolve(values.from) : new URL('../src/primary/', import.meta.url).pathname;
  const { AudienceTable } = (await import(pathToFileURL(`${dir}/audience-table.js`).href)) as { AudienceTable: new () => Table };
  const { MemberHistory } = (await import(pathToFileURL(`${dir}/member-history.js`).href)) as { MemberHistory: new () => History };
  const table = new AudienceTable();
  const history = new MemberHistory();
  // The names as the IPC parser hands them over: strings of their own, not literals.
  const names = Array.from({ length: n }, (_, k) => `f1-${k}`.split('').join(''));
  const before = measure();
  const now = 1_796_000_000_000;
  names.forEach((ns, k) => {
    table.setMembers(`worker:${1 + (k % 2)}`, ns, 1, now);
    table.addConnections(ns, 1, now);
    // Half of them already left, awaiting the clean delay.
    if (k % 2 === 0) table.setMembers(`worker:${1 + (k % 2)}`, ns, 0, now + 500);
  });
  table.takeChanged();
  const tablePeak = measure();
  history.sample(table.namespaces, now + 1000);
  const peak = measure();
  for (let k = 0; k < n; k++) if (k % 2 === 1) table.setMembers(`worker:${1 + (k % 2)}`, names[k]!, 0, now + 2000);
  // The daemon sweeps every second; the arrays shrink a step at a time.
  for (let s = 0; s < 3; s++) table.sweep(now + 10_000 + s * 1000, 2000);
  table.takeChanged();
  history.sample([], now + 11_000);
  const after = measure();
  const per = (bytes: number): string => `${Math.round(bytes / n)} B`;
  console.log(JSON.stringify({ from: dir, namespaces: n, table: table.namespaces.size }));
  console.log(`at the peak, per namespace: heap ${per(peak.heap - before.heap)} (the table ${per(tablePeak.heap - before.heap)}, the chart's history ${per(peak.heap - tablePeak.heap)}), outside the heap ${per(peak.outside - before.outside)}`);
  console.log(`swept: heap ${((after.heap - before.heap) / 1024).toFixed(0)} KiB, outside ${((after.outside - before.outside) / 1024).toFixed(0)} KiB above the empty table`);
}

await main();
