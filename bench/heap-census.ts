// What a worker's JavaScript heap holds per viewer: a census of a V8 heap snapshot (the .heapsnapshot JSON
// that `node --heapsnapshot-signal` writes) by object kind — constructor name for objects, the type for
// strings, the name for arrays, closures and native objects — with each kind's count and self size. Divided
// by the worker's viewers, the kinds with about one (or more) per viewer are what each idle viewer costs.
// Native memory that V8 does not see (libuv handles, kernel buffers) is not in a snapshot; RSS has it.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from './daemon-io.js';

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface CensusRow {
  kind: string;
  count: number;
  bytes: number;
}

const STRING_TYPES = new Set(['string', 'concatenated string', 'sliced string']);

/** Every kind in the snapshot with its count and self size, largest first. */
export function census(path: string): { rows: CensusRow[]; totalBytes: number } {
  const snap = JSON.parse(readFileSync(path, 'utf8')) as HeapSnapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const TYPE = fields.indexOf('type');
  const NAME = fields.indexOf('name');
  const SIZE = fields.indexOf('self_size');
  const byKind = new Map<string, CensusRow>();
  let totalBytes = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + TYPE]!]!;
    const size = snap.nodes[i + SIZE]!;
    totalBytes += size;
    const kind = STRING_TYPES.has(type) ? `(${type})` : `${type}: ${snap.strings[snap.nodes[i + NAME]!]!.slice(0, 60)}`;
    let row = byKind.get(kind);
    if (!row) byKind.set(kind, (row = { kind, count: 0, bytes: 0 }));
    row.count++;
    row.bytes += size;
  }
  return { rows: [...byKind.values()].sort((a, b) => b.bytes - a.bytes), totalBytes };
}

/** The snapshot a process with `pid` wrote into `dir`, once its size has stopped changing; undefined at the deadline. */
export async function awaitSnapshot(dir: string, pid: number, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let lastSize = -1;
  while (Date.now() < deadline) {
    const file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && f.includes(`.${pid}.`));
    if (file !== undefined) {
      const size = statSync(join(dir, file)).size;
      // V8 writes the snapshot in one go and closes it; a size unchanged for a second is the whole file.
      if (size > 0 && size === lastSize) return join(dir, file);
      lastSize = size;
    }
    await sleep(1000);
  }
  return undefined;
}
