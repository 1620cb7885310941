// audience-meter against nginx + nchan, side by side in one run: the same crowd of idle SSE viewers (30,000
// over 10 namespaces by default), the same load generator, the same machine, the order alternating from one
// repeat to the next. Scenarios a (memory per viewer), b (accept rate) and c (fan-out of one message per
// namespace) for both; the count push for audience-meter alone (nchan has no counts). Prints the ratios.
//
// It installs nothing. nginx and the nchan module come from Debian's packages:
//   apt-get update && apt-get install -y nginx-light libnginx-mod-nchan
// Do not enable the system nginx service: this script runs its own nginx (`nginx -c <temp conf> -p <temp
// dir>`, in the foreground, loopback ports, 2 worker processes by default) and stops it at the end. The
// config it writes is in bench/targets.ts (nchanConfig).
//
//   npm run build && node dist/bench/nchan-compare.js [--repeat 3] [--viewers 30000] [--workers 2] \
//        [--reuseport] [--only nchan|audience-meter|bare] [--bare]
//
// --bare adds a calibration server (bench/bare-sse-server.ts, one Node.js process doing the least per
// viewer): what the same load generator measures against it is the floor of this harness on this machine.

import { type Metric, type Row, quietRun, round, runMain, runsTable } from './run-kit.js';
import { addressSpan, parseScenario, quietMetrics, report, sourceBaseFor } from './scenario-kit.js';
import { NCHAN_INSTALL, type Target, nchanAvailability, startBare, startNchan } from './targets.js';
import { type ViewerRunResult, runViewers, viewerSpec } from './viewer-run.js';
import { acceptMetrics, fanoutMetrics, memoryMetrics, viewerOptionsFrom } from './viewer-scenario.js';

type Kind = Target['kind'];
type Run = ViewerRunResult & { loadavgAtStart: number; repeat: number; order: number; redone: string[]; logTail: string[] };

async function main(): Promise<void> {
  const s = parseScenario('nchan-compare', {
    ...viewerSpec,
    reuseport: { type: 'boolean', default: false },
    bare: { type: 'boolean', default: false },
    only: { type: 'string' },
    'nchan-log': { type: 'string' },
  });
  const { values, workers, repeat } = s;
  const { missing } = nchanAvailability();
  if (missing.length > 0 && values.only !== 'audience-meter') {
    process.stderr.write(`nchan-compare: missing ${missing.join(', ')}\ninstall them with:\n  ${NCHAN_INSTALL}\n`);
    process.exit(2);
  }
  const base = viewerOptionsFrom(values, s.maxSeconds);
  base.countPush = true;
  const kinds: Kind[] =
    values.only === 'nchan' ? ['nchan'] : values.only === 'audience-meter' ? ['audience-meter'] : values.only === 'bare' ? ['bare'] : ['nchan', 'audience-meter'];
  // The calibration server shows the harness floor: what the same load generator measures against the least
  // a Node.js process can do.
  if (values.bare && !kinds.includes('bare')) kinds.push('bare');

  const runs: Run[] = [];
  let slot = 0;
  for (let k = 0; k < repeat; k++) {
    const order = k % 2 === 0 ? kinds : [...kinds].reverse();
    for (const [i, kind] of order.entries()) {
      const r = await quietRun(s.quiet, `repeat ${k + 1}/${repeat}, ${kind}`, async () => {
        const target =
          kind === 'nchan'
            ? await startNchan({ workers, reuseport: values.reuseport, logPath: values['nchan-log'] })
            : kind === 'bare'
              ? await startBare()
              : await s.startDaemon();
        let r: ViewerRunResult;
        try {
          r = await runViewers(target, { ...base, sourceBase: sourceBaseFor(slot++, base.sourceBase, addressSpan(base.viewers, base.perSwarm)) });
        } catch (err) {
          await target.stop();
          throw err;
        }
        const stop = await target.stop();
        if (stop.code !== 0) r.problems.push(`exit after SIGTERM: code ${stop.code}, signal ${stop.signal}, ${stop.ms} ms`);
        await new Promise((res) => setTimeout(res, 3000));
        return { ...r, logTail: target.tail.slice(-10) };
      });
      runs.push({ ...r, repeat: k + 1, order: i + 1 });
    }
  }

  const of = (kind: Kind) => runs.filter((r) => r.kind === kind);
  const metrics: Array<Metric<Run>> = [
    ...memoryMetrics(),
    ...acceptMetrics(),
    ...fanoutMetrics(),
    ...quietMetrics(),
  ];
  const perKind: Partial<Record<Kind, { rows: Row[]; medians: Record<string, number> }>> = {};
  for (const kind of kinds) perKind[kind] = runsTable(of(kind), metrics);

  const am = perKind['audience-meter']?.medians;
  const nc = perKind.nchan?.medians;
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b !== 0 ? round(a / b, 2) : NaN);
  // Per repeat as well: each audience-meter run against the nchan run of the same repeat.
  const paired = (f: (r: Run) => number | undefined) =>
    Array.from({ length: repeat }, (_, k) => {
      const a = runs.find((r) => r.kind === 'audience-meter' && r.repeat === k + 1);
      const b = runs.find((r) => r.kind === 'nchan' && r.repeat === k + 1);
      return a && b ? ratio(f(a), f(b)) : NaN;
    });
  const ratios = {
    memoryPerViewer: ratio(am?.['memory per viewer (RSS)'], nc?.['memory per viewer (RSS)']),
    memoryPerViewerByRepeat: paired((r) => r.memory.bytesPerViewerRss),
    firstEventsPerSecond: ratio(am?.['first events per second'], nc?.['first events per second']),
    firstEventsPerSecondByRepeat: paired((r) => r.accept.firstEventsPerSecond),
    steadyFirstEventsPerSecond: ratio(am?.['first events/s, 10-90 %'], nc?.['first events/s, 10-90 %']),
    fanoutLast: ratio(am?.['message, last viewer'], nc?.['message, last viewer']),
    fanoutLastByRepeat: paired((r) => r.fanoutLastMs),
    countPushVsNchanMessage: ratio(am?.['count push, first→last'], nc?.['message, last viewer']),
  };
  const problems = runs.flatMap((r) => [
    ...r.problems.map((p) => `${r.kind} repeat ${r.repeat}: ${p}`),
    ...r.redone.filter((w) => w.startsWith('kept anyway')).map((w) => `${r.kind} repeat ${r.repeat}: ${w}`),
  ]);

  const rows: Row[] = [];
  for (const kind of kinds) {
    const label = of(kind)[0]?.target ?? kind;
    rows.push([`== ${label}`, ''], ...perKind[kind]!.rows, ['', '']);
  }
  if (am && nc) {
    const fmtR = (x: number, byRepeat?: number[]) => `${x.toFixed(2)}${byRepeat ? `  (by repeat: ${byRepeat.map((v) => v.toFixed(2)).join(', ')})` : ''}`;
    rows.push(
      ['== audience-meter / nchan (medians)', ''],
      ['memory per viewer', `${fmtR(ratios.memoryPerViewer, ratios.memoryPerViewerByRepeat)}   target ≤ 0.50`],
      ['first events per second', `${fmtR(ratios.firstEventsPerSecond, ratios.firstEventsPerSecondByRepeat)}   target ≥ 1.00`],
      ['first events/s, 10-90 %', fmtR(ratios.steadyFirstEventsPerSecond)],
      ['message to last viewer', `${fmtR(ratios.fanoutLast, ratios.fanoutLastByRepeat)}   target ≤ 0.50`],
      ['count push vs nchan message', `${fmtR(ratios.countPushVsNchanMessage)}   target ≤ 0.50`],
    );
  }
  report(s, {
    fields: { viewers: base.viewers, namespaces: base.namespaces.length, workers, repeat, reuseport: values.reuseport, ratios },
    rows,
    medians: { 'audience-meter': am, nchan: nc },
    problems,
    runs,
    title: `nchan-compare: ${base.viewers.toLocaleString('en-US')} viewers over ${base.namespaces.length} namespaces, ${workers} workers each, ${repeat} repeats`,
  });
}

runMain('nchan-compare', main);
