// Where the daemon's CPU goes while a crowd arrives: starts audience-meter under `node --cpu-prof` (the
// workers inherit the flag), runs the accept ramp of bench/viewer-run.ts (30,000 viewers by default, no
// probes), stops the daemon gracefully so every process writes its profile, and prints for each process
// its CPU during the ramp, the functions with the most self time during the ramp (samples outside it are
// left out: start-up, idle keep-alives, shutdown), and the ramp's cost per new viewer by stage (accept,
// head parse, admission, hub, session facts, IPC, the primary's registry, index, monitor and log).
//
// A sampling profile counts wall time: a process that waits for a core on a busy machine is charged to
// whatever it was running. So the per-viewer figures take each stage's SHARE of the busy samples and apply it
// to the process's real CPU time over the ramp (utime + stime from /proc), divided by the viewers.
// --identified gives every viewer its own token (HS256, --auth-secret set on the daemon). --repeat N runs N
// fresh daemons and prints the median per stage. The .cpuprofile files stay in --out/run-K (open them in
// Chrome DevTools → Performance, or VS Code). --heap also takes a heap snapshot of every worker once the
// crowd is in and idle, and prints what the workers' heaps hold per viewer, by kind (bench/heap-census.ts).
// --bare profiles the bare-Node floor (bench/bare-sse-server.ts) the same way instead: Node's own share of
// each stage, to hold the daemon's against. --transport ws makes the viewers WebSocket upgrades (both daemon
// and floor).
//
//   npm run build && node dist/bench/profile-accept.js [--viewers 30000] [--workers 2] [--identified] \
//        [--repeat 3] [--out /tmp/am-prof] [--heap] [--bare] [--transport sse|ws]

import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { CpuProfile } from './cpuprofile.js';
import { awaitSnapshot, census, type CensusRow } from './heap-census.js';
import { processTree } from './proc-mem.js';
import { deadline, emit, intFlag, log, median, round, runMain, type Row } from './run-kit.js';
import { startAudienceMeter, startBare } from './targets.js';
import { tokenFile } from './tokens.js';
import { runViewers, viewerSpec } from './viewer-run.js';
import { viewerOptionsFrom } from './viewer-scenario.js';

/** The stages a new viewer's CPU is told in, in the order a viewer meets them. */
export const STAGES = [
  'accept (net.Socket, streams)', 'head parse and route', 'WebSocket handshake and frames', 'admission (token, address)', 'hub, viewer, lifetimes',
  'session facts (user agent)', 'socket writes', 'count pushes (worker)', 'IPC', 'registry', 'index', 'monitor', 'attendance log',
  'counts and pushes', 'garbage collector', 'other',
] as const;
export type Stage = (typeof STAGES)[number];

const BY_FILE: Array<[RegExp, Stage]> = [
  // A WebSocket viewer's own code on the raw fast path (node:http and ws only for an upgrade the fast path declines).
  [/^node:_http_|^node:internal\/http|\/node_modules\/ws\/|\/worker\/ws-(viewers?|handshake)\.js$|\/protocol\/ws-(client-)?frames\.js$/, 'WebSocket handshake and frames'],
  [/\/(request-head|routes|public-listener|public-server)\.js$|\/protocol\/namespace\.js$|\/bench\/bare-sse-server\.js$/, 'head parse and route'],
  [/\/(admission|identity|client-ip)\.js$|\/(jose|fast-jwt)\/|internal\/crypto|internal\/url/, 'admission (token, address)'],
  [/\/worker\/(hub|viewer|streams|lifetimes|viewer-directory|session-ids|uuid-registry|push)\.js$|\/protocol\/sse\.js$/, 'hub, viewer, lifetimes'],
  [/\/worker\/(sessions|connection-listing|address-counts)\.js$|user-agent(-cache)?\.js$|ua-parser/, 'session facts (user agent)'],
  [/child_process|\/protocol\/(ipc|sessions|wire-sessions)\.js$|\/worker\/main\.js$/, 'IPC'],
  [/\/session-registry\.js$|\/device-limit\.js$/, 'registry'],
  // The primary's connections index until issue 12 (one session store); its listing now asks the workers.
  [/\/(connections-index|worker-listing|connection-view|address-table)\.js$/, 'index'],
  [/\/(monitor|metrics|member-history|deliveries)\.js$|\/admin\//, 'monitor'],
  [/\/attendance\/|better-sqlite3/, 'attendance log'],
  [/\/(audience-table|notifier)\.js$|\/primary\/main\.js$/, 'counts and pushes'],
  [/^node:(net|events|stream|internal\/streams|internal\/stream_base_commons|internal\/net|internal\/timers|internal\/process\/task_queues)/, 'accept (net.Socket, streams)'],
];

/** The stage a profile node's own time belongs to (by its file; native leaves by name). */
export function stageOf(functionName: string, url: string): Stage {
  if (functionName === '(garbage collector)') return 'garbage collector';
  if (url === '') {
    if (/^(writev|writeBuffer|writeLatin1String|writeUtf8String|writeAsciiString)$/.test(functionName)) return 'socket writes';
    if (/getpeername|getsockname|setNoDelay|onconnection|close/i.test(functionName)) return 'accept (net.Socket, streams)';
    if (/^(stringify|parse|serialize)$/.test(functionName)) return 'IPC';
    return 'other';
  }
  for (const [pattern, stage] of BY_FILE) if (pattern.test(url)) return stage;
  return 'other';
}

/**
 * Self time per function (name + file:line) and per stage, in ms, busiest first; idle time left out. Only
 * samples inside `window` (µs on the monotonic clock, as V8 stamps them) count.
 */
export function selfTimes(profile: CpuProfile, window: [number, number]): { windowMs: number; busyMs: number; top: Array<[string, number]>; stages: Map<Stage, number> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // The count pushes a worker writes while the crowd grows (2.x's notifier: every 2 s while a count moves by
  // 10 %) and its keep-alives are told apart from the accept path by their caller, the hub's broadcast or keepAlive.
  const pushing = new Map<number, boolean>();
  const underBroadcast = (id: number): boolean => {
    let known = pushing.get(id);
    if (known === undefined) {
      const f = byId.get(id)?.callFrame;
      const up = parent.get(id);
      known = (f !== undefined && /^(broadcast(All)?|keepAlive)$/.test(f.functionName) && /\/worker\/hub\.js$/.test(f.url)) || (up !== undefined && underBroadcast(up));
      pushing.set(id, known);
    }
    return known;
  };
  const self = new Map<string, number>();
  const stages = new Map<Stage, number>();
  let busy = 0;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < window[0] || t > window[1]) continue;
    const node = byId.get(profile.samples[i]!);
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    if (!node) continue;
    const f = node.callFrame;
    if (f.functionName === '(idle)') continue;
    busy += dt;
    const file = f.url.replace(/^file:\/\/.*\/(dist|node_modules)\//, '$1/');
    const key = `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
    const stage = underBroadcast(node.id) ? 'count pushes (worker)' : stageOf(f.functionName, f.url);
    stages.set(stage, (stages.get(stage) ?? 0) + dt);
  }
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15);
  return { windowMs: (window[1] - window[0]) / 1000, busyMs: busy, top, stages };
}

interface ProfileRun {
  firstEventsPerSecond: number;
  viewers: number;
  /** Server CPU (all processes) over the ramp, µs per viewer. */
  totalUs: number;
  primaryUs: number;
  workersUs: number;
  /** µs per viewer by process role and stage: the stage's share of the busy samples × the role's CPU. */
  stageUs: Record<'primary' | 'workers', Partial<Record<Stage, number>>>;
  top: Record<string, Array<[string, number]>>;
  /** --heap: the workers' heaps per viewer (summed over workers, divided by their sockets). */
  heap?: { sockets: number; bytesPerViewer: number; rows: CensusRow[] };
  problems: string[];
}

/** Snapshots every worker of the daemon (primary `pid`) and sums their census; rows per socket held. */
async function workerHeaps(pid: number, dir: string): Promise<NonNullable<ProfileRun['heap']> | string> {
  const workers = processTree(pid).filter((p) => p !== pid);
  for (const w of workers) process.kill(w, 'SIGUSR2');
  const byKind = new Map<string, CensusRow>();
  let total = 0;
  for (const w of workers) {
    const file = await awaitSnapshot(dir, w, 120_000);
    if (file === undefined) return `worker ${w} wrote no heap snapshot in 120 s`;
    const c = census(file);
    total += c.totalBytes;
    for (const r of c.rows) {
      const sum = byKind.get(r.kind) ?? { kind: r.kind, count: 0, bytes: 0 };
      sum.count += r.count;
      sum.bytes += r.bytes;
      byKind.set(r.kind, sum);
    }
  }
  const sockets = Math.max(1, byKind.get('object: Socket')?.count ?? 0);
  const rows = [...byKind.values()].sort((a, b) => b.bytes - a.bytes).map((r) => ({ kind: r.kind, count: round(r.count / sockets, 2), bytes: round(r.bytes / sockets, 1) }));
  return { sockets, bytesPerViewer: round(total / sockets), rows };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...viewerSpec,
      workers: { type: 'string', default: '2' },
      daemon: { type: 'string', default: 'bin/audience-meter' },
      out: { type: 'string', default: '/tmp/am-prof' },
      repeat: { type: 'string', default: '1' },
      identified: { type: 'boolean', default: false },
      heap: { type: 'boolean', default: false },
      bare: { type: 'boolean', default: false },
      'max-seconds': { type: 'string', default: '900' },
      'daemon-arg': { type: 'string', multiple: true, default: [] },
      'daemon-env': { type: 'string', multiple: true, default: [] },
    },
    strict: true,
  });
  const maxSeconds = intFlag(values, 'max-seconds', 60, 86_400);
  deadline('profile-accept', maxSeconds);
  const repeat = intFlag(values, 'repeat', 1, 20);
  const base = viewerOptionsFrom(values, maxSeconds);
  base.probes = 0;
  const secret = randomBytes(24).toString('base64url');
  const tokens = values.identified ? await tokenFile(base.viewers, secret) : undefined;
  const runs: ProfileRun[] = [];
  for (let k = 0; k < repeat; k++) {
    const out = join(values.out!, `run-${k + 1}`);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    log(`== run ${k + 1}/${repeat}`);
    const nodeArgs = ['--cpu-prof', '--cpu-prof-dir', out, ...(values.heap ? ['--heapsnapshot-signal=SIGUSR2', '--diagnostic-dir', out] : [])];
    const target = values.bare
      ? await startBare({ nodeArgs, transport: base.transport })
      : await startAudienceMeter({
          bin: values.daemon,
          workers: intFlag(values, 'workers', 1, 64),
          extra: [...(tokens ? ['--auth-secret', secret] : []), ...values['daemon-arg']!],
          env: values['daemon-env'],
          nodeArgs,
        });
    let heap: ProfileRun['heap'] | string | undefined;
    const whileLoaded = values.heap ? async () => void (heap = await workerHeaps(target.pid, out)) : undefined;
    // Fresh source addresses per run: the last run's TIME_WAIT sockets must not slow this one.
    const r = await runViewers(target, { ...base, sourceBase: base.sourceBase + k * 10, tokenFile: tokens?.path, whileLoaded });
    await target.stop();
    const files = readdirSync(out).filter((f) => f.endsWith('.cpuprofile'));
    const run: ProfileRun = {
      firstEventsPerSecond: r.accept.firstEventsPerSecond,
      viewers: r.viewers,
      totalUs: 0,
      primaryUs: 0,
      workersUs: 0,
      stageUs: { primary: {}, workers: {} },
      top: {},
      ...(typeof heap === 'object' ? { heap } : {}),
      problems: [...r.problems, ...(typeof heap === 'string' ? [heap] : [])],
    };
    // A worker killed at the stop deadline (a busy machine) writes no profile: its run says nothing of the workers.
    if (files.length < r.rampCpu.length) run.problems.push(`${files.length} of ${r.rampCpu.length} processes wrote a profile in ${out}; this run's missing roles are left out of the medians`);
    for (const f of files) {
      const pid = Number(/\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(f)?.[1]);
      const role = pid === target.pid ? 'primary' : 'workers';
      const cpuSeconds = r.rampCpu.find((p) => p.pid === pid)?.seconds ?? 0;
      const s = selfTimes(JSON.parse(readFileSync(join(out, f), 'utf8')) as CpuProfile, r.rampWindowUs);
      const us = (cpuSeconds * 1e6) / r.viewers;
      run[role === 'primary' ? 'primaryUs' : 'workersUs'] += us;
      run.totalUs += us;
      for (const [stage, ms] of s.stages) {
        run.stageUs[role][stage] = (run.stageUs[role][stage] ?? 0) + (s.busyMs > 0 ? (us * ms) / s.busyMs : 0);
      }
      run.top[`${role === 'primary' ? 'primary' : 'worker'} pid ${pid} (busy ${round(s.busyMs)} ms in the profile, ${cpuSeconds} s CPU)`] = s.top.map(([n, ms]) => [n, round(ms)]);
    }
    const profiled = (p: 'primary' | 'workers') => files.filter((f) => (Number(/\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(f)?.[1]) === target.pid) === (p === 'primary')).length;
    if (profiled('workers') < r.rampCpu.length - 1) {
      run.workersUs = NaN;
      run.totalUs = NaN;
      run.stageUs.workers = Object.fromEntries(STAGES.map((st) => [st, NaN]));
    }
    if (profiled('primary') === 0) {
      run.primaryUs = NaN;
      run.totalUs = NaN;
      run.stageUs.primary = Object.fromEntries(STAGES.map((st) => [st, NaN]));
    }
    log(`run ${k + 1}: ${round(run.totalUs)} µs per viewer (primary ${round(run.primaryUs)}, workers ${round(run.workersUs)}), ${run.firstEventsPerSecond}/s`);
    runs.push(run);
  }
  tokens?.remove();

  const col = (xs: number[]) => [...xs.map((x) => round(x).toString()), round(median(xs)).toString()].map((c) => c.padStart(8)).join(' ');
  const rows: Row[] = [
    [`µs per new viewer (${values.bare ? 'the bare-Node floor' : values.identified ? 'identified' : 'anonymous'})`, [...runs.map((_, k) => `run ${k + 1}`), 'median'].map((c) => c.padStart(8)).join(' ')],
    ['first events per second', col(runs.map((r) => r.firstEventsPerSecond))],
    ['server CPU, all processes', col(runs.map((r) => r.totalUs))],
  ];
  for (const role of ['workers', 'primary'] as const) {
    rows.push([`== ${role}`, col(runs.map((r) => (role === 'primary' ? r.primaryUs : r.workersUs)))]);
    for (const stage of STAGES) {
      const xs = runs.map((r) => r.stageUs[role][stage] ?? (Number.isNaN(role === 'primary' ? r.primaryUs : r.workersUs) ? NaN : 0));
      if (median(xs) >= 0.5) rows.push([`  ${stage}`, col(xs)]);
    }
  }
  const last = runs[runs.length - 1]!;
  if (last.heap) {
    rows.push(['', ''], [`== last run, workers' heaps per viewer (${last.heap.sockets} sockets)`, `${last.heap.bytesPerViewer} B in all; kinds with ≥ 16 B or ≥ 0.5 per viewer`]);
    for (const h of last.heap.rows.filter((x) => x.bytes >= 16 || x.count >= 0.5).slice(0, 30)) rows.push([`  ${h.bytes} B, ${h.count} per viewer`, h.kind]);
  }
  for (const [proc, top] of Object.entries(last.top)) {
    rows.push(['', ''], [`== last run, ${proc}`, 'self time in the profile']);
    for (const [name, ms] of top) rows.push([`  ${ms} ms`, name]);
  }
  const problems = runs.flatMap((r, k) => r.problems.map((p) => `run ${k + 1}: ${p}`));
  for (const p of problems) rows.push(['PROBLEM', p]);
  emit({ scenario: 'profile-accept', identified: values.identified, viewers: base.viewers, runs, problems }, rows);
  log(`profiles in ${values.out}/run-*`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}

runMain('profile-accept', main);
