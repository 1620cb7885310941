// Where the daemon's time goes while a crowd arrives: starts audience-meter under `node --cpu-prof` (the
// workers inherit the flag), runs the accept ramp of bench/viewer-run.ts (30,000 viewers by default, no
// probes), stops the daemon gracefully so every process writes its profile, and prints for each process
// its CPU during the ramp and the functions with the most self time during the ramp (samples outside it are
// left out: start-up, idle keep-alives, shutdown). The .cpuprofile files stay in
// --out (open them in Chrome DevTools → Performance, or VS Code).
//
//   npm run build && node dist/bench/profile-accept.js [--viewers 30000] [--workers 2] [--out /tmp/am-prof]

import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { deadline, emit, intFlag, log, round, runMain, type Row } from './run-kit.js';
import { startAudienceMeter } from './targets.js';
import { runViewers, viewerSpec } from './viewer-run.js';
import { viewerOptionsFrom } from './viewer-scenario.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/**
 * Self time per function (name + file:line), in ms, busiest first; idle time left out. Only samples inside
 * `window` (µs on the monotonic clock, as V8 stamps them) count.
 */
export function selfTimes(profile: CpuProfile, window: [number, number]): { windowMs: number; busyMs: number; top: Array<[string, number]> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
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
    const file = f.url.replace(/^file:\/\/.*\/dist\//, 'dist/');
    const key = `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15);
  return { windowMs: (window[1] - window[0]) / 1000, busyMs: busy, top };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...viewerSpec,
      workers: { type: 'string', default: '2' },
      daemon: { type: 'string', default: 'bin/audience-meter' },
      out: { type: 'string', default: '/tmp/am-prof' },
      'max-seconds': { type: 'string', default: '900' },
      'daemon-arg': { type: 'string', multiple: true, default: [] },
      'daemon-env': { type: 'string', multiple: true, default: [] },
    },
    strict: true,
  });
  const maxSeconds = intFlag(values, 'max-seconds', 60, 86_400);
  deadline('profile-accept', maxSeconds);
  const out = values.out!;
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const base = viewerOptionsFrom(values, maxSeconds);
  base.probes = 0;
  const target = await startAudienceMeter({
    bin: values.daemon,
    workers: intFlag(values, 'workers', 1, 64),
    extra: values['daemon-arg'],
    env: values['daemon-env'],
    nodeArgs: ['--cpu-prof', '--cpu-prof-dir', out],
  });
  const r = await runViewers(target, base);
  await target.stop();
  const files = readdirSync(out).filter((f) => f.endsWith('.cpuprofile'));
  const rows: Row[] = [
    ['first events per second', `${r.accept.firstEventsPerSecond}/s (${r.viewers} viewers, ramp ${r.accept.firstEventSpanMs} ms)`],
    ['server CPU during the ramp', r.rampCpu.map((p, k) => `${k === 0 ? 'primary' : `worker ${k}`} (pid ${p.pid}) ${p.cores}`).join(', ')],
  ];
  const profiles: Record<string, unknown> = {};
  for (const f of files) {
    const pid = Number(/\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(f)?.[1]);
    const role = pid === target.pid ? 'primary' : `worker pid ${pid}`;
    const s = selfTimes(JSON.parse(readFileSync(join(out, f), 'utf8')) as CpuProfile, r.rampWindowUs);
    profiles[role] = { file: join(out, f), ...s };
    rows.push(['', ''], [`== ${role}`, `busy ${round(s.busyMs)} ms of the ${round(s.windowMs)} ms ramp (${f})`]);
    for (const [name, ms] of s.top) rows.push([`  ${round(ms)} ms`, name]);
  }
  if (files.length === 0) rows.push(['PROBLEM', `no profile written in ${out} (did the daemon stop gracefully?)`]);
  emit({ scenario: 'profile-accept', accept: r.accept, rampCpu: r.rampCpu, profiles, problems: r.problems }, rows);
  log(`profiles in ${out}`);
}

runMain('profile-accept', main);
