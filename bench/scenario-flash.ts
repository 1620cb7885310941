// Issue 3, scenario e: flash crowd. 20,000 SSE viewers over 10 namespaces open their streams within 2
// seconds (4 swarms × 2,500 per second, no cap on streams in flight: a crowd does not wait), against the
// daemon with its defaults (2 workers here: one per core). The stats port is polled every 50 ms from the
// start. Target: every namespace exact in the stats within 1 s after the last viewer's TCP connect, and no
// connection refused (no socket error, no non-200 answer, no stream closed by the daemon). Also reported:
// connects that took over a second (a SYN dropped by a full listen backlog and retried).
//
//   npm run build && node dist/bench/scenario-flash.js [--repeat 3] [--viewers 20000] [--seconds 2]

import { parseArgs } from 'node:util';
import { readStats, sleep } from './daemon-io.js';
import {
  type Metric,
  commonSpec,
  type CpuUse,
  CpuMeter,
  deadline,
  emit,
  fmtInt,
  fmtMs,
  intFlag,
  log,
  numFlag,
  othersAbove,
  repeated,
  round,
  runMain,
  runsTable,
} from './run-kit.js';
import { SwarmFleet } from './swarm-fleet.js';
import { type SwarmTotals, histPercentile, nowMs } from './swarm-protocol.js';
import { startAudienceMeter, type Target } from './targets.js';
import { acceptFigures, expectedPerNamespace, type AcceptFigures } from './viewer-run.js';
import { addressSpan, sourceBaseFor } from './viewer-scenario.js';

interface FlashRun {
  viewers: number;
  /** First socket created → last created / last TCP connect / last first event, ms. */
  openSpanMs: number;
  connectSpanMs: number;
  firstEventSpanMs: number;
  /** Last TCP connect → first stats poll (answered) showing every namespace exact, ms; null: never. */
  lastConnectToExactMs: number | null;
  lastFirstEventToExactMs: number | null;
  statsPolls: number;
  refused: number;
  errorCodes: Record<string, number>;
  badStatus: number;
  closedByDaemon: number;
  connectsOver1s: number;
  connectMaxMs: number;
  accept: AcceptFigures;
  cpu: CpuUse;
  totals: SwarmTotals;
  problems: string[];
  daemonLogTail: string[];
}

async function crowd(target: Target, o: { viewers: number; namespaces: string[]; swarms: number; seconds: number; sourceBase: number; maxSeconds: number }): Promise<Omit<FlashRun, 'daemonLogTail'>> {
  const problems: string[] = [];
  const expect = expectedPerNamespace(o.viewers, o.namespaces);
  const perSwarm = Math.ceil(o.viewers / o.swarms);
  const fleet = new SwarmFleet({
    host: target.host,
    port: target.port,
    namespaces: o.namespaces,
    viewers: o.viewers,
    perSwarm,
    // A little ahead of the nominal pace, so the last socket is opened within the window despite timer slack.
    rate: Math.ceil(perSwarm / Math.max(0.05, o.seconds - 0.1)),
    sourceBase: o.sourceBase,
    maxSeconds: o.maxSeconds,
    maxInflight: 0,
  });
  const onExit = () => fleet.kill();
  process.once('exit', onExit);
  try {
    const cpu = new CpuMeter(() => [target.pid, ...fleet.pids()]);
    // Stats polls: [answered at (epoch ms), every namespace exact?]
    const polls: Array<[number, boolean]> = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const t = nowMs();
        try {
          const s = await readStats(target.host, target.statsPort!, 2_000, fleet.sideAddress);
          const exact = Object.entries(expect).every(([ns, want]) => s[ns]?.members === want);
          polls.push([nowMs(), exact]);
        } catch {
          polls.push([nowMs(), false]);
        }
        const wait = 50 - (nowMs() - t);
        if (wait > 0) await sleep(wait);
      }
    })();
    fleet.start();
    log(`${target.label}: ${o.viewers} viewers within ${o.seconds} s from ${fleet.members.length} swarms`);
    const ready = await fleet.waitReady(60_000, (t) => log(`  connected ${t.connected}, first event ${t.firstEvent}, errors ${t.errors}, non-200 ${t.badStatus}`));
    // Keep polling until the stats are exact (or 10 s more), so the moment is caught even if late.
    const until = nowMs() + 10_000;
    while (nowMs() < until && !(polls.length > 0 && polls[polls.length - 1]![1])) await sleep(50);
    polling = false;
    await poller;
    const t = await fleet.timings();
    const cpuUse = cpu.end();
    const totals = await fleet.stop();
    // The first exact answer after which no later answer was wrong.
    let exactAt: number | null = null;
    for (const [at, exact] of polls) {
      if (exact && exactAt === null) exactAt = at;
      if (!exact) exactAt = null;
    }
    const accept = acceptFigures(t, ready.totals.firstEvent);
    const refused = totals.errors + totals.badStatus + totals.closedByPeer;
    if (!ready.ok) problems.push(`only ${ready.totals.firstEvent}/${o.viewers} viewers got their first event`);
    if (refused > 0) problems.push(`refused or failed: errors ${JSON.stringify(totals.errorCodes)}, non-200 ${JSON.stringify(totals.statusCodes)}, closed by the daemon ${totals.closedByPeer}`);
    if (exactAt === null) problems.push('the stats never showed every namespace exact');
    const run = {
      viewers: o.viewers,
      openSpanMs: round(t.lastOpenAt - t.firstOpenAt, 1),
      connectSpanMs: round(t.lastConnectAt - t.firstOpenAt, 1),
      firstEventSpanMs: round(t.lastFirstEventAt - t.firstOpenAt, 1),
      lastConnectToExactMs: exactAt === null ? null : round(exactAt - t.lastConnectAt, 1),
      lastFirstEventToExactMs: exactAt === null ? null : round(exactAt - t.lastFirstEventAt, 1),
      statsPolls: polls.length,
      refused,
      errorCodes: totals.errorCodes,
      badStatus: totals.badStatus,
      closedByDaemon: totals.closedByPeer,
      connectsOver1s: accept.connectsOver1s,
      connectMaxMs: round(histPercentile(t.connect, 100), 1),
      accept,
      cpu: cpuUse,
      totals,
      problems,
    };
    log(`${target.label}: connects spread over ${run.connectSpanMs} ms; stats exact ${run.lastConnectToExactMs} ms after the last connect; refused ${refused}; connects over 1 s ${run.connectsOver1s}`);
    return run;
  } finally {
    onExit();
    process.off('exit', onExit);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...commonSpec,
      viewers: { type: 'string', default: '20000' },
      namespaces: { type: 'string', default: '10' },
      seconds: { type: 'string', default: '2' },
      swarms: { type: 'string', default: '4' },
      'source-base': { type: 'string', default: '2' },
      workers: { type: 'string', default: '2' },
      'daemon-arg': { type: 'string', multiple: true, default: [] },
      // KEY=VALUE for the daemon's environment: experiments only, the figures use none.
      'daemon-env': { type: 'string', multiple: true, default: [] },
    },
    strict: true,
  });
  const maxSeconds = intFlag(values, 'max-seconds', 60, 86_400);
  deadline('scenario-flash', maxSeconds);
  const workers = intFlag(values, 'workers', 1, 64);
  const viewers = intFlag(values, 'viewers', 1, 100_000);
  const swarms = intFlag(values, 'swarms', 1, 40);
  if (viewers / swarms > 19_000) throw new Error('--swarms: at most 19,000 viewers per swarm');
  const seconds = numFlag(values, 'seconds', 0.1, 600);
  const namespaces = Array.from({ length: intFlag(values, 'namespaces', 1, 10_000) }, (_, k) => `flash-${k}`);
  const sourceBase = intFlag(values, 'source-base', 2, 200);

  const runs = await repeated<FlashRun>(
    {
      repeat: intFlag(values, 'repeat', 1, 20),
      maxLoad: numFlag(values, 'max-load', 0, 100),
      contaminated: othersAbove(numFlag(values, 'max-others', 0, 64)),
    },
    async (_k, attempt) => {
      const target = await startAudienceMeter({ bin: values.daemon, workers, extra: values['daemon-arg'], env: values['daemon-env'], logPath: values['daemon-log'] });
      try {
        const r = await crowd(target, { viewers, namespaces, swarms, seconds, sourceBase: sourceBaseFor(attempt, sourceBase, addressSpan(viewers, Math.ceil(viewers / swarms))), maxSeconds });
        const stop = await target.stop();
        if (stop.code !== 0) r.problems.push(`daemon exit after SIGTERM: code ${stop.code}, signal ${stop.signal}, ${stop.ms} ms`);
        return { ...r, daemonLogTail: target.tail.slice(-10) };
      } catch (err) {
        await target.stop();
        throw err;
      }
    },
  );

  const metrics: Array<Metric<(typeof runs)[number]>> = [
    { label: 'sockets opened over', get: (r) => r.openSpanMs, fmt: fmtMs },
    { label: 'last TCP connect after', get: (r) => r.connectSpanMs, fmt: fmtMs },
    { label: 'last first event after', get: (r) => r.firstEventSpanMs, fmt: fmtMs },
    { label: 'last connect → stats exact', get: (r) => r.lastConnectToExactMs ?? undefined, fmt: fmtMs },
    { label: 'last first event → stats exact', get: (r) => r.lastFirstEventToExactMs ?? undefined, fmt: fmtMs },
    { label: 'refused / failed', get: (r) => r.refused, fmt: fmtInt },
    { label: 'connects over 1 s (SYN retried)', get: (r) => r.connectsOver1s, fmt: fmtInt },
    { label: 'slowest connect', get: (r) => r.connectMaxMs, fmt: fmtMs },
    { label: 'first event p99', get: (r) => r.accept.firstEventP99Ms, fmt: fmtMs },
    { label: 'load average at start', get: (r) => r.loadavgAtStart, fmt: (x) => x.toFixed(2) },
    { label: 'other processes (cores)', get: (r) => r.cpu.othersCores, fmt: (x) => x.toFixed(2) },
  ];
  const { rows, medians } = runsTable(runs, metrics);
  const problems = runs.flatMap((r, k) => [
    ...r.problems.map((p) => `run ${k + 1}: ${p}`),
    ...r.redone.filter((w) => w.startsWith('kept anyway')).map((w) => `run ${k + 1}: ${w}`),
  ]);
  const title = `scenario-flash: audience-meter, ${workers} workers, ${viewers.toLocaleString('en-US')} viewers within ${seconds} s over ${namespaces.length} namespaces, ${runs.length} runs`;
  emit({ scenario: 'scenario-flash', workers, viewers, seconds, medians, problems, runs }, [...rows, ...problems.map((p): [string, string] => ['PROBLEM', p])], title);
  process.exitCode = problems.length === 0 ? 0 : 1;
}

runMain('scenario-flash', main);
