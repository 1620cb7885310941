// Memory of a process tree, read from /proc (Linux only).
//
// RSS is summed over the primary and all its descendants (cluster workers). Shared pages (the node
// binary, shared libraries) are counted once per process by RSS; PSS splits them fairly and is
// reported beside it.

import { readFileSync, readdirSync } from 'node:fs';

export interface TreeMemory {
  pids: number[];
  rssKiB: number;
  pssKiB: number;
  /**
   * Per process, RSS split as the kernel counts it: anonymous pages (heaps: what the process holds) and
   * file pages (the node binary's and libraries' code, read in as it first runs and dropped by the kernel
   * under pressure).
   */
  perProcess: Array<{ pid: number; rssKiB: number; pssKiB: number; anonKiB: number; fileKiB: number }>;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function parentOf(pid: number): number | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // "pid (comm) state ppid …": comm may contain spaces and parentheses, so split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[1]);
}

/** The pid itself followed by all its living descendants. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = Number(entry);
    const ppid = parentOf(child);
    if (ppid === undefined) continue;
    const list = children.get(ppid);
    if (list) list.push(child);
    else children.set(ppid, [child]);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    if (readText(`/proc/${p}/status`) === undefined) continue;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/** A `Field:   123 kB` line's number from /proc/<pid>/status or smaps_rollup text, 0 when absent. */
export function kibField(text: string | undefined, field: string): number {
  if (text === undefined) return 0;
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

export function treeMemory(pid: number): TreeMemory {
  const pids = processTree(pid);
  const perProcess = pids.map((p) => {
    const status = readText(`/proc/${p}/status`);
    return {
      pid: p,
      rssKiB: kibField(status, 'VmRSS'),
      pssKiB: kibField(readText(`/proc/${p}/smaps_rollup`), 'Pss'),
      anonKiB: kibField(status, 'RssAnon'),
      fileKiB: kibField(status, 'RssFile'),
    };
  });
  return {
    pids,
    rssKiB: perProcess.reduce((a, p) => a + p.rssKiB, 0),
    pssKiB: perProcess.reduce((a, p) => a + p.pssKiB, 0),
    perProcess,
  };
}

/** Takes `samples` readings `intervalMs` apart and returns the one with the median RSS. */
export async function sampleTreeMemory(pid: number, samples = 5, intervalMs = 400): Promise<TreeMemory> {
  const readings: TreeMemory[] = [];
  for (let k = 0; k < samples; k++) {
    if (k > 0) await new Promise((r) => setTimeout(r, intervalMs));
    readings.push(treeMemory(pid));
  }
  readings.sort((a, b) => a.rssKiB - b.rssKiB);
  return readings[Math.floor(readings.length / 2)];
}

/** A server's memory idle, loaded with viewers and after the fan-out, and what one viewer costs. */
export interface MemoryFigures {
  idleRssKiB: number;
  loadedRssKiB: number;
  afterFanoutRssKiB: number;
  idlePssKiB: number;
  loadedPssKiB: number;
  /** (loaded − idle) / viewers, in bytes. */
  bytesPerViewerRss: number;
  bytesPerViewerPss: number;
}

export function memoryFigures(idle: TreeMemory, loaded: TreeMemory, after: TreeMemory, viewers: number): MemoryFigures {
  const n = Math.max(1, viewers);
  return {
    idleRssKiB: idle.rssKiB,
    loadedRssKiB: loaded.rssKiB,
    afterFanoutRssKiB: after.rssKiB,
    idlePssKiB: idle.pssKiB,
    loadedPssKiB: loaded.pssKiB,
    bytesPerViewerRss: Math.round(((loaded.rssKiB - idle.rssKiB) * 1024) / n),
    bytesPerViewerPss: Math.round(((loaded.pssKiB - idle.pssKiB) * 1024) / n),
  };
}
