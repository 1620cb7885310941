// Which of a process's mappings grew between two copies of /proc/<pid>/smaps (bench/primary-memory-trace.ts
// writes them): anonymous memory by mapping name ([heap] is malloc's main arena, [anon] everything else),
// then the anonymous mappings that changed most. glibc's per-thread arenas are anonymous mappings aligned on
// 64 MB (addresses ending in 000000); V8's heap pages are 256 KB ones.
//
//   node dist/bench/smaps-diff.js <smaps-before> <smaps-after> [--top 15]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Mapping {
  range: string;
  name: string;
  sizeKiB: number;
  anonKiB: number;
}

function mappings(file: string): Mapping[] {
  const found: Mapping[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      found.push({ range: `${head[1]}-${head[2]}`, name: head[3] || '[anon]', sizeKiB: (parseInt(head[2]!, 16) - parseInt(head[1]!, 16)) / 1024, anonKiB: 0 });
      continue;
    }
    const anonymous = /^Anonymous:\s+(\d+) kB/.exec(line);
    if (anonymous && found.length > 0) found.at(-1)!.anonKiB = Number(anonymous[1]);
  }
  return found;
}

const mib = (kib: number): string => (kib / 1024).toFixed(1);

function byName(list: Mapping[]): Map<string, number> {
  const sums = new Map<string, number>();
  for (const m of list) sums.set(m.name, (sums.get(m.name) ?? 0) + m.anonKiB);
  return sums;
}

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '15' } }, allowPositionals: true });
if (positionals.length !== 2) {
  process.stderr.write('usage: smaps-diff <smaps-before> <smaps-after> [--top N]\n');
  process.exit(2);
}
const [before, after] = positionals.map(mappings) as [Mapping[], Mapping[]];
const [namesBefore, namesAfter] = [byName(before), byName(after)];
console.log('anonymous memory by mapping name, MiB:');
for (const name of [...new Set([...namesBefore.keys(), ...namesAfter.keys()])]) {
  const [a, b] = [namesBefore.get(name) ?? 0, namesAfter.get(name) ?? 0];
  if (a !== b) console.log(`  ${name.padEnd(40)} ${mib(a).padStart(7)} → ${mib(b).padStart(7)} (${b > a ? '+' : ''}${mib(b - a)})`);
}
const anonBefore = new Map(before.filter((m) => m.name === '[anon]').map((m) => [m.range, m.anonKiB]));
const changed = after.filter((m) => m.name === '[anon]').map((m) => ({ ...m, delta: m.anonKiB - (anonBefore.get(m.range) ?? 0) }))
  .filter((m) => m.delta !== 0).sort((x, y) => y.delta - x.delta).slice(0, Number(values.top));
console.log('anonymous mappings that grew most (a range absent before counts from 0):');
for (const m of changed) console.log(`  ${m.range} (${mib(m.sizeKiB)} MiB mapped) ${m.delta > 0 ? '+' : ''}${mib(m.delta)} MiB`);
