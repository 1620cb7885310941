// Sums a `--trace-gc-nvp` log per process (the daemon's, with `--node-arg=--trace-gc-nvp --daemon-log <file>`):
// young-generation collections (count, pauses), full collections (count, pauses, heap size before → after each),
// bytes allocated and bytes promoted to the old generation. Divided by the cycles of a churn, it says what each
// connection costs each process and how much of that outlives a young collection (BENCHMARKS.md, issue 12, the
// churn ratchet, sixth look).
//
//   node dist/bench/gc-trace-summary.js <daemon log> [--cycles N]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProcessGc {
  firstMs: number;
  lastMs: number;
  young: number;
  youngPauseMs: number;
  full: number;
  fullPauseMs: number;
  allocated: number;
  promoted: number;
  fullSizes: string[];
}

const { values, positionals } = parseArgs({ options: { cycles: { type: 'string' } }, allowPositionals: true });
if (positionals.length !== 1) throw new Error('usage: gc-trace-summary <daemon log> [--cycles N]');
const cycles = values.cycles === undefined ? undefined : Number(values.cycles);
const perProcess = new Map<string, ProcessGc>();
for (const line of readFileSync(positionals[0]!, 'utf8').split('\n')) {
  const m = /^\[(\d+):0x[0-9a-f]+\]\s+(\d+) ms: (.*gc=.*)$/.exec(line);
  if (!m) continue;
  const [, pid, ms, rest] = m as unknown as [string, string, string, string];
  const field = new Map(rest.split(' ').map((kv) => kv.split('=') as [string, string]));
  const num = (name: string): number => Number(field.get(name) ?? 0);
  let p = perProcess.get(pid);
  if (!p) perProcess.set(pid, (p = { firstMs: Number(ms), lastMs: 0, young: 0, youngPauseMs: 0, full: 0, fullPauseMs: 0, allocated: 0, promoted: 0, fullSizes: [] }));
  p.lastMs = Number(ms);
  p.allocated += num('allocated');
  if (field.get('gc') === 's') {
    p.young++;
    p.youngPauseMs += num('pause');
    p.promoted += num('promoted');
  } else if (field.get('gc') === 'mc' || field.get('gc') === 'ms') {
    p.full++;
    p.fullPauseMs += num('pause');
    p.fullSizes.push(`${Math.round(num('total_size_before') / 1e6)}→${Math.round(num('total_size_after') / 1e6)}`);
  }
}
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const perCycle = (bytes: number): string => (cycles ? `, ${Math.round(bytes / cycles)} B per cycle` : '');
for (const [pid, p] of perProcess) {
  const seconds = (p.lastMs - p.firstMs) / 1000;
  console.log(`pid ${pid} (${seconds.toFixed(0)} s traced): ${p.young} young collections (${(p.young / seconds).toFixed(1)}/s, pauses ${(p.youngPauseMs / 1000).toFixed(1)} s), `
    + `${p.full} full (pauses ${(p.fullPauseMs / 1000).toFixed(2)} s); allocated ${mb(p.allocated)}${perCycle(p.allocated)}; promoted ${mb(p.promoted)}${perCycle(p.promoted)}`);
  console.log(`  heap before → after each full collection (MB): ${p.fullSizes.join(' ')}`);
}
