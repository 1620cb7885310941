// audience-meter against nginx + nchan and the bare-Node floor (bench/bare-sse-server.ts), side by side in
// one run: the same crowd of idle viewers (30,000 over 10 namespaces by default; SSE, or WebSocket with
// --transport ws: then nchan serves `nchan_subscriber websocket` and the floor its WebSocket mode), the same load generator,
// the same machine, the order alternating from one repeat to the next, every run from source addresses no
// earlier run used (TIME_WAIT). Memory per viewer, accept rate and server CPU over the ramp, the fan-out of
// one message per namespace and the server CPU over those push rounds, for all three; the count push for
// audience-meter alone (the others have no counts). Prints the ratios to nchan (and to the floor) with the
// issue-12 targets, medians and per repeat: on a shared machine, ratios within one repeat are the figures.
//
// It installs nothing. nginx and the nchan module come from Debian's packages:
//   apt-get update && apt-get install -y nginx-light libnginx-mod-nchan
// Do not enable the system nginx service: this script runs its own nginx (`nginx -c <temp conf> -p <temp
// dir>`, in the foreground, loopback ports, 2 worker processes by default) and stops it at the end. The
// config it writes is in bench/targets.ts (nchanConfig).
//
//   npm run build && node dist/bench/nchan-compare.js [--repeat 3] [--viewers 30000] [--workers 2] \
//        [--reuseport] [--only nchan|audience-meter|bare] [--no-bare] [--before <checkout>/bin/audience-meter] \
//        [--transport sse|ws]
//
// The bare server (2 Node.js processes doing the least per viewer) is the floor of this harness on this
// machine: what Node itself costs; --no-bare leaves it out. --before adds another build of the daemon as a
// fourth system in the same alternation, so a change is measured against its parent within one run.

import { type Metric, type Row, median, quietRun, round, runMain, runsTable } from './run-kit.js';
import { addressSpan, parseScenario, quietMetrics, report, sourceBaseFor } from './scenario-kit.js';
import { NCHAN_INSTALL, type Target, nchanAvailability, startAudienceMeter, startBare, startNchan } from './targets.js';
import { type ViewerRunResult, runViewers, viewerSpec } from './viewer-run.js';
import { acceptMetrics, cpuMetrics, fanoutMetrics, memoryMetrics, viewerOptionsFrom } from './viewer-scenario.js';

type Kind = Target['kind'] | 'before';
type Run = ViewerRunResult & { system: Kind; loadavgAtStart: number; repeat: number; order: number; redone: string[]; logTail: string[] };

async function main(): Promise<void> {
  const s = parseScenario('nchan-compare', {
    ...viewerSpec,
    reuseport: { type: 'boolean', default: false },
    'no-bare': { type: 'boolean', default: false },
    only: { type: 'string' },
    before: { type: 'string' },
    'nchan-log': { type: 'string' },
  });
  const { values, workers, repeat } = s;
  const { missing } = nchanAvailability();
  if (missing.length > 0 && values.only !== 'audience-meter' && values.only !== 'bare') {
    process.stderr.write(`nchan-compare: missing ${missing.join(', ')}\ninstall them with:\n  ${NCHAN_INSTALL}\n`);
    process.exit(2);
  }
  const base = viewerOptionsFrom(values, s.maxSeconds);
  base.countPush = true;
  const kinds: Kind[] =
    values.only === 'nchan' ? ['nchan'] : values.only === 'audience-meter' ? ['audience-meter'] : values.only === 'bare' ? ['bare']
      : values['no-bare'] ? ['nchan', 'audience-meter'] : ['nchan', 'bare', 'audience-meter'];
  if (values.before !== undefined) kinds.push('before');

  const runs: Run[] = [];
  let slot = 0;
  for (let k = 0; k < repeat; k++) {
    const order = k % 2 === 0 ? kinds : [...kinds].reverse();
    for (const [i, kind] of order.entries()) {
      const r = await quietRun(s.quiet, `repeat ${k + 1}/${repeat}, ${kind}`, async () => {
        const target =
          kind === 'nchan'
            ? await startNchan({ workers, reuseport: values.reuseport, logPath: values['nchan-log'], transport: base.transport })
            : kind === 'bare'
              ? await startBare({ transport: base.transport })
              : kind === 'before'
                ? await startAudienceMeter({ bin: values.before!, workers, extra: values['daemon-arg'], env: values['daemon-env'] })
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
        return { ...r, system: kind, logTail: target.tail.slice(-10) };
      });
      runs.push({ ...r, repeat: k + 1, order: i + 1 });
    }
  }

  const of = (kind: Kind) => runs.filter((r) => r.system === kind);
  const metrics: Array<Metric<Run>> = [
    ...memoryMetrics(),
    ...acceptMetrics(),
    ...cpuMetrics(),
    ...fanoutMetrics(),
    ...quietMetrics(),
  ];
  const perKind: Partial<Record<Kind, { rows: Row[]; medians: Record<string, number> }>> = {};
  for (const kind of kinds) perKind[kind] = runsTable(of(kind), metrics);

  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && Number.isFinite(a) && b !== 0 ? round(a / b, 2) : NaN);
  /** One figure of `kind` against the same figure of `base` in the same repeat, for every repeat, and their median. */
  const paired = (kind: Kind, base: Kind, f: (r: Run) => number | undefined) => {
    const byRepeat = Array.from({ length: repeat }, (_, k) => {
      const a = runs.find((r) => r.system === kind && r.repeat === k + 1);
      const b = runs.find((r) => r.system === base && r.repeat === k + 1);
      return a && b ? ratio(f(a), f(b)) : NaN;
    });
    return { median: round(median(byRepeat), 2), byRepeat };
  };
  const cpuPerViewer = (r: Run) => r.serverCpuRampSeconds / Math.max(1, r.accept.viewers);
  /** [label, kind, base, figure, target, holds when] — the issue-12 targets. */
  const wanted: Array<[string, Kind, Kind, (r: Run) => number | undefined, string, (x: number) => boolean]> = [
    ['server CPU per accepted viewer, am / nchan', 'audience-meter', 'nchan', cpuPerViewer, '≤ 1.40', (x) => x <= 1.4],
    ['server CPU per accepted viewer, bare / nchan', 'bare', 'nchan', cpuPerViewer, '(the floor)', () => true],
    ['server CPU per accepted viewer, am / bare', 'audience-meter', 'bare', cpuPerViewer, '', () => true],
    ['first events per second, am / nchan', 'audience-meter', 'nchan', (r) => r.accept.firstEventsPerSecond, '≥ 0.90', (x) => x >= 0.9],
    ['memory per idle viewer, am / nchan', 'audience-meter', 'nchan', (r) => r.memory.bytesPerViewerRss, '(am ≤ 4.0 KB)', () => true],
    ['server CPU over the push rounds, am / nchan', 'audience-meter', 'nchan', (r) => r.serverCpuProbesSeconds, '≤ 0.90', (x) => x <= 0.9],
    ['message to the last viewer, am / bare', 'audience-meter', 'bare', (r) => r.fanoutLastMs, '≤ 1.10', (x) => x <= 1.1],
    ['message to the last viewer, am / nchan', 'audience-meter', 'nchan', (r) => r.fanoutLastMs, '', () => true],
    ['server CPU per accepted viewer, am / before', 'audience-meter', 'before', cpuPerViewer, '', () => true],
    ['server CPU per accepted viewer, before / nchan', 'before', 'nchan', cpuPerViewer, '', () => true],
    ['memory per idle viewer, am / before', 'audience-meter', 'before', (r) => r.memory.bytesPerViewerRss, '', () => true],
    ['server CPU over the push rounds, am / before', 'audience-meter', 'before', (r) => r.serverCpuProbesSeconds, '', () => true],
    ['server CPU over the push rounds, before / nchan', 'before', 'nchan', (r) => r.serverCpuProbesSeconds, '', () => true],
  ];
  const ratios: Record<string, { median: number; byRepeat: number[]; target: string; holds: boolean | null }> = {};
  for (const [label, kind, base, f, target, holds] of wanted) {
    if (!kinds.includes(kind) || !kinds.includes(base)) continue;
    const p = paired(kind, base, f);
    ratios[label] = { ...p, target, holds: target.startsWith('≤') || target.startsWith('≥') ? holds(p.median) : null };
  }
  const am = perKind['audience-meter']?.medians;
  const amKb = am?.['memory per viewer (RSS)'];
  const problems = runs.flatMap((r) => [
    ...r.problems.map((p) => `${r.system} repeat ${r.repeat}: ${p}`),
    ...r.redone.filter((w) => w.startsWith('kept anyway')).map((w) => `${r.system} repeat ${r.repeat}: ${w}`),
  ]);

  const rows: Row[] = [];
  for (const kind of kinds) {
    const label = `${of(kind)[0]?.target ?? kind}${kind === 'before' ? ` (before: ${values.before})` : ''}`;
    rows.push([`== ${label}`, ''], ...perKind[kind]!.rows, ['', '']);
  }
  if (Object.keys(ratios).length > 0) {
    rows.push(['== ratios within each repeat (median of the repeats)', `${'median'.padStart(8)}  ${'target'.padEnd(14)} holds   by repeat`]);
    for (const [label, r] of Object.entries(ratios)) {
      const holds = r.holds === null ? '' : r.holds ? 'yes' : 'NO';
      rows.push([label, `${r.median.toFixed(2).padStart(8)}  ${r.target.padEnd(14)} ${holds.padEnd(7)} ${r.byRepeat.map((v) => v.toFixed(2)).join(', ')}`]);
    }
    if (amKb !== undefined) rows.push(['memory per idle viewer, am', `${(amKb / 1000).toFixed(2)} KB (target ≤ 4.0 KB: ${amKb <= 4000 ? 'yes' : 'NO'})`]);
  }
  report(s, {
    fields: { transport: base.transport, viewers: base.viewers, namespaces: base.namespaces.length, workers, repeat, reuseport: values.reuseport, ratios },
    rows,
    medians: Object.fromEntries(kinds.map((k) => [k, perKind[k]?.medians])),
    problems,
    runs,
    title: `nchan-compare: ${base.viewers.toLocaleString('en-US')} ${base.transport === 'ws' ? 'WebSocket' : 'SSE'} viewers over ${base.namespaces.length} namespaces, ${workers} workers each, ${repeat} repeats`,
  });
}

runMain('nchan-compare', main);
