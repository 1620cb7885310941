// Where a sampling heap profile's bytes were allocated (the .heapprofile that bench/primary-memory-trace.ts
// writes: what reached the old generation): the functions with the most bytes of their own, then the call
// paths (their last --depth frames) with the most.
//
//   node dist/bench/heapprofile-top.js <file.heapprofile> [--top 25] [--depth 5]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

const MB = 1024 * 1024;
const frameName = (f: HeapNode['callFrame']): string =>
  `${f.functionName || '(anonymous)'} ${f.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/').replace(/^node:/, '')}:${f.lineNumber + 1}`;

function summarise(head: HeapNode, top: number, depth: number): string {
  const byFunction = new Map<string, number>();
  const byPath = new Map<string, number>();
  let total = 0;
  const walk = (node: HeapNode, path: string[]): void => {
    const here = [...path, frameName(node.callFrame)];
    if (node.selfSize > 0) {
      total += node.selfSize;
      byFunction.set(here.at(-1)!, (byFunction.get(here.at(-1)!) ?? 0) + node.selfSize);
      const key = here.slice(-depth).join(' > ');
      byPath.set(key, (byPath.get(key) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, here);
  };
  walk(head, []);
  const rows = (m: Map<string, number>): string => [...m].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([name, bytes]) => `  ${(bytes / MB).toFixed(2).padStart(7)} MB  ${name}`).join('\n');
  return [`${(total / MB).toFixed(2)} MB sampled`, 'by function:', rows(byFunction), `by call path (last ${depth} frames):`, rows(byPath)].join('\n');
}

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' }, depth: { type: 'string', default: '5' } }, allowPositionals: true });
for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode };
  console.log(`${file}\n${summarise(profile.head, Number(values.top), Number(values.depth))}\n`);
}
