// What the primary's memory is made of, over time: loaded into the daemon with `--import`, it acts in the
// primary only (not in the workers, nor in a bench script that imports it by accident) and writes to
// $PRIMARY_TRACE_DIR (default /tmp/primary-trace):
//   - series.jsonl, every second: VmRSS and RssAnon, each V8 heap space as [committed, used] MB, external and
//     array-buffer memory, the young-generation collections since the last line and every other collection
//     as kind:flags@seconds (flags 32: the memory reducer's; 64: one started by the allocation limit);
//   - smaps-<s>, a copy of /proc/self/smaps at each of the seconds in $PRIMARY_TRACE_SMAPS ("20,55"), for
//     `bench/smaps-diff.ts`: which mappings grew (V8's heap pages, malloc's [heap], glibc's thread arenas);
//   - oldgen.heapprofile, with $PRIMARY_TRACE_PROFILE_SECONDS: V8's sampling heap profile of what reached the
//     old generation (objects a young-generation collection freed are left out), from
//     $PRIMARY_TRACE_PROFILE_AFTER seconds on; summed by `bench/heapprofile-top.ts`.
// $PRIMARY_TRACE_V8_FLAGS sets V8 flags in the primary alone, at run time, to try a policy without a build.
// It never starts a collection itself (the profile's stop aside, which V8's profiler ends with one).
//
//   npm run build && PRIMARY_TRACE_SMAPS=20,55 node dist/bench/scenario-namespace-flood.js --floods 2 \
//     --node-arg=--import=$PWD/dist/bench/primary-memory-trace.js   (absolute: the daemon runs in a directory of its own)
import cluster from 'node:cluster';
import fs from 'node:fs';
import inspector from 'node:inspector';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import v8 from 'node:v8';
import { kibField } from './proc-mem.js';

const MB = 1024 * 1024;
const env = process.env;

/** In the daemon's primary only: a bench script run with this in NODE_OPTIONS is left alone. */
const inPrimary = cluster.isPrimary && /audience-meter|cli\.js$/.test(process.argv[1] ?? '');

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak',
};

function traceSeries(dir: string, start: number): void {
  const series = fs.createWriteStream(`${dir}/series.jsonl`);
  let collections: string[] = [];
  let young = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const { kind, flags } = (entry as PerformanceEntry & { detail: { kind: number; flags: number } }).detail;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) young++;
      else collections.push(`${GC_KINDS[kind] ?? kind}:${flags}@${((performance.timeOrigin + entry.startTime - start) / 1000).toFixed(1)}`);
    }
  }).observe({ entryTypes: ['gc'] });
  setInterval(() => {
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const spaces: Record<string, [number, number]> = {};
    for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name.replace(/_space$/, '')] = [round(s.space_size / MB), round(s.space_used_size / MB)];
    const memory = process.memoryUsage();
    series.write(`${JSON.stringify({
      t: round((Date.now() - start) / 1000), rssMiB: round(kibField(status, 'VmRSS') / 1024), anonMiB: round(kibField(status, 'RssAnon') / 1024),
      spaces, externalMiB: round(memory.external / MB), arrayBuffersMiB: round(memory.arrayBuffers / MB), young, collections,
    })}\n`);
    collections = [];
    young = 0;
  }, 1000).unref();
}

function copySmaps(dir: string, seconds: string): void {
  for (const at of seconds.split(',').filter(Boolean)) {
    // /proc files report size 0: copyFile would copy nothing.
    setTimeout(() => fs.writeFileSync(`${dir}/smaps-${at}`, fs.readFileSync('/proc/self/smaps', 'utf8')), Number(at) * 1000).unref();
  }
}

function profileOldGeneration(dir: string, afterSeconds: number, seconds: number): void {
  const session = new inspector.Session();
  session.connect();
  setTimeout(() => {
    session.post('HeapProfiler.enable', () => session.post('HeapProfiler.startSampling', {
      samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: false,
    } as inspector.HeapProfiler.StartSamplingParameterType, (error) => {
      if (error) return void process.stderr.write(`primary-memory-trace: ${error.message}\n`);
      setTimeout(() => session.post('HeapProfiler.stopSampling', (stopError, result) => {
        if (stopError) return void process.stderr.write(`primary-memory-trace: ${stopError.message}\n`);
        fs.writeFileSync(`${dir}/oldgen.heapprofile`, JSON.stringify(result.profile));
      }), seconds * 1000).unref();
    }));
  }, afterSeconds * 1000).unref();
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

if (inPrimary) {
  if (env.PRIMARY_TRACE_V8_FLAGS) v8.setFlagsFromString(env.PRIMARY_TRACE_V8_FLAGS);
  const dir = env.PRIMARY_TRACE_DIR ?? '/tmp/primary-trace';
  fs.mkdirSync(dir, { recursive: true });
  traceSeries(dir, Date.now());
  copySmaps(dir, env.PRIMARY_TRACE_SMAPS ?? '');
  const profileSeconds = Number(env.PRIMARY_TRACE_PROFILE_SECONDS ?? 0);
  if (profileSeconds > 0) profileOldGeneration(dir, Number(env.PRIMARY_TRACE_PROFILE_AFTER ?? 0), profileSeconds);
}
