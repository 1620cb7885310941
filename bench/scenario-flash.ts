// Issue 3, scenario e: flash crowd. 20,000 SSE viewers over 10 namespaces open their streams within 2
// seconds (4 swarms × 2,500 per second, no cap on streams in flight: a crowd does not wait), against the
// daemon with its defaults (2 workers here: one per core). The stats port is polled every 50 ms from the
// start. Target: every namespace exact in the stats within 1 s after the last viewer's TCP connect, and no
// connection refused (no socket error, no non-200 answer, no stream closed by the daemon). Also reported:
// connects that took over a second (a SYN dropped by a full listen backlog and retried).
//
//   npm run build && node dist/bench/scenario-flash.js [--repeat 3] [--viewers 20000] [--seconds 2]

import { StatsWatch, membersExact } from './daemon-io.js';
import { type CpuUse, type Metric, CpuMeter, fmtInt, fmtMs, log, repeated, round, runMain, runsTable } from './run-kit.js';
import {
  type FlashCrowd,
  addressSpan,
  flashFleet,
  flashFrom,
  flashSpec,
  parseScenario,
  quietMetrics,
  refusals,
  report,
  runProblems,
  sourceBaseFor,
  withDaemon,
} from './scenario-kit.js';
import { type SwarmTotals, histPercentile } from './swarm-protocol.js';
import type { Target } from './targets.js';
import { type AcceptFigures, acceptFigures, expectedPerNamespace } from './viewer-run.js';

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

async function crowd(target: Target, c: FlashCrowd, o: { sourceBase: number; maxSeconds: number }): Promise<Omit<FlashRun, 'daemonLogTail'>> {
  const problems: string[] = [];
  const expect = expectedPerNamespace(c.viewers, c.namespaces);
  const fleet = flashFleet(target, c, o);
  try {
    const cpu = new CpuMeter(() => [target.pid, ...fleet.pids()]);
    const stats = new StatsWatch(target.host, target.statsPort!, (s) => membersExact(s, expect), fleet.sideAddress);
    stats.start();
    fleet.start();
    log(`${target.label}: ${c.viewers} viewers within ${c.seconds} s from ${fleet.members.length} swarms`);
    const ready = await fleet.waitReady(60_000, (t) => log(`  connected ${t.connected}, first event ${t.firstEvent}, errors ${t.errors}, non-200 ${t.badStatus}`));
    // Keep polling until the stats are exact (or 10 s more), so the moment is caught even if late.
    await stats.untilExact(10_000);
    const t = await fleet.timings();
    const cpuUse = cpu.end();
    const totals = await fleet.stop();
    const exactAt = stats.exactSince();
    const accept = acceptFigures(t, ready.totals.firstEvent);
    const { refused, problem } = refusals(totals);
    if (!ready.ok) problems.push(`only ${ready.totals.firstEvent}/${c.viewers} viewers got their first event`);
    if (problem) problems.push(problem);
    if (exactAt === null) problems.push('the stats never showed every namespace exact');
    const run = {
      viewers: c.viewers,
      openSpanMs: round(t.lastOpenAt - t.firstOpenAt, 1),
      connectSpanMs: round(t.lastConnectAt - t.firstOpenAt, 1),
      firstEventSpanMs: round(t.lastFirstEventAt - t.firstOpenAt, 1),
      lastConnectToExactMs: exactAt === null ? null : round(exactAt - t.lastConnectAt, 1),
      lastFirstEventToExactMs: exactAt === null ? null : round(exactAt - t.lastFirstEventAt, 1),
      statsPolls: stats.polls.length,
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
    fleet.kill();
  }
}

async function main(): Promise<void> {
  const s = parseScenario('scenario-flash', flashSpec);
  const c = flashFrom(s.values, 'flash');
  const runs = await repeated<FlashRun>({ ...s.quiet, repeat: s.repeat }, (_k, attempt) =>
    withDaemon(s, {}, (target) =>
      crowd(target, c, { sourceBase: sourceBaseFor(attempt, c.sourceBase, addressSpan(c.viewers, Math.ceil(c.viewers / c.swarms))), maxSeconds: s.maxSeconds }),
    ),
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
    ...quietMetrics(),
  ];
  const { rows, medians } = runsTable(runs, metrics);
  report(s, {
    fields: { workers: s.workers, viewers: c.viewers, seconds: c.seconds },
    rows,
    medians,
    problems: runProblems(runs),
    runs,
    title: `scenario-flash: audience-meter, ${s.workers} workers, ${c.viewers.toLocaleString('en-US')} viewers within ${c.seconds} s over ${c.namespaces.length} namespaces, ${runs.length} runs`,
  });
}

runMain('scenario-flash', main);
