// Where a .cpuprofile's busy time went, read from the file alone (for the profiles redis-swarm.js --cpu-prof
// writes): the functions with the most self time, the files (packages) with the most self time, and the
// functions with the most total time (self + callees, each sample counted once per function on its stack),
// each as a share of the busy samples (idle left out). A share, not CPU time: a process waiting for a core is
// charged to whatever it was running.
//
//   node dist/bench/cpuprofile-top.js <file.cpuprofile> [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { CpuProfile, ProfileNode } from './cpuprofile.js';

const shortFile = (url: string): string => url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/');
const nameOf = (f: ProfileNode['callFrame']): string => `${f.functionName || '(anonymous)'} ${f.url ? `${shortFile(f.url)}:${f.lineNumber + 1}` : ''}`.trim();
const packageOf = (url: string): string => {
  if (url === '') return '(native / V8)';
  const file = shortFile(url);
  const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  return pkg ? pkg[1]! : file;
};

function summarise(profile: CpuProfile, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const files = new Map<string, number>();
  const total = new Map<string, number>();
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!);
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    if (!node || node.callFrame.functionName === '(idle)' || node.callFrame.functionName === '(program)') continue;
    busy += dt;
    self.set(nameOf(node.callFrame), (self.get(nameOf(node.callFrame)) ?? 0) + dt);
    files.set(packageOf(node.callFrame.url), (files.get(packageOf(node.callFrame.url)) ?? 0) + dt);
    const onStack = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) onStack.add(nameOf(byId.get(id)!.callFrame));
    for (const name of onStack) total.set(name, (total.get(name) ?? 0) + dt);
  }
  const rows = (m: Map<string, number>): string => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([k, ms]) => `  ${((100 * ms) / busy).toFixed(1).padStart(5)} %  ${ms.toFixed(1).padStart(8)} ms  ${k}`).join('\n');
  return [`busy ${busy.toFixed(0)} ms (idle and "(program)" left out)`, 'self time by function:', rows(self), 'self time by file / package:', rows(files),
    'total time by function (self + callees):', rows(total)].join('\n');
}

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' } }, allowPositionals: true });
for (const file of positionals) console.log(`${file}\n${summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(values.top))}\n`);
