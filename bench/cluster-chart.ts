// The issue-11 chart: what a round costs each node and Redis, and how long a change takes to reach every node,
// against the number of nodes, Redis (solid) against multicast (dashed), one colour per number of namespaces,
// from the points bench/redis-swarm.ts wrote. A hollow marker is a point measured while the 2 cores were
// saturated (its convergence time is the machine's, not the design's).
//
//   npm run build && node dist/bench/cluster-chart.js [--in bench/results/redis-swarm.json] \
//        [--out bench/results/cluster-scale.png] [--svg /tmp/cluster.svg]
import type { SwarmFile, SwarmPoint } from './redis-swarm.js';
import { chartMain, esc, kfmt, logTicks, niceTicks, svgOpen } from './svg-kit.js';

const W = 1100;
const H = 860;
const PANEL_W = 420;
const PANEL_H = 270;
const LEFTS = [90, 620];
const TOPS = [100, 490];
const NS_COLORS = ['#1f6fd1', '#e07b00', '#2a9d3a', '#b03060'];
/** A round plus a worker tick, at the default --cluster-notify-interval 2 s with its 10 % jitter. */
const TARGET_MS = 2200 + 100;

interface PanelSpec {
  title: string;
  subtitle: string;
  yLabel: string;
  value: (p: SwarmPoint) => number | undefined;
  fmt: (v: number) => string;
  logY: boolean;
  target?: { y: number; label: string };
}

function panel(left: number, top: number, spec: PanelSpec, points: SwarmPoint[], xs: number[], nsList: number[]): string {
  const ok = points.filter((p) => !p.skipped && Number.isFinite(spec.value(p) ?? NaN) && (spec.value(p) ?? 0) > 0);
  const ys = ok.map((p) => spec.value(p)!);
  if (ys.length === 0) return '';
  const ticks = spec.logY ? logTicks(Math.min(...ys), Math.max(...ys)) : niceTicks(Math.max(...ys, spec.target?.y ?? 0) * 1.08);
  const yMin = spec.logY ? ticks[0]! : 0;
  const yMax = ticks[ticks.length - 1]!;
  const lx0 = Math.log10(xs[0]!);
  const lx1 = Math.log10(xs[xs.length - 1]!);
  const px = (x: number): number => left + 20 + ((Math.log10(x) - lx0) / (lx1 - lx0 || 1)) * (PANEL_W - 40);
  const py = spec.logY
    ? (y: number): number => top + PANEL_H - ((Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin) || 1)) * PANEL_H
    : (y: number): number => top + PANEL_H - (y / yMax) * PANEL_H;
  const out: string[] = [];
  out.push(`<text x="${left}" y="${top - 26}" class="title">${esc(spec.title)}</text>`);
  out.push(`<text x="${left}" y="${top - 10}" class="axis">${esc(spec.subtitle)}</text>`);
  for (const t of ticks) {
    out.push(`<line x1="${left}" x2="${left + PANEL_W}" y1="${py(t)}" y2="${py(t)}" class="grid"/>`);
    out.push(`<text x="${left - 8}" y="${py(t) + 4}" class="tick" text-anchor="end">${esc(spec.fmt(t))}</text>`);
  }
  for (const x of xs) {
    out.push(`<line x1="${px(x)}" x2="${px(x)}" y1="${top}" y2="${top + PANEL_H}" class="grid"/>`);
    out.push(`<text x="${px(x)}" y="${top + PANEL_H + 18}" class="tick" text-anchor="middle">${x}</text>`);
  }
  out.push(`<rect x="${left}" y="${top}" width="${PANEL_W}" height="${PANEL_H}" class="frame"/>`);
  out.push(`<text x="${left + PANEL_W / 2}" y="${top + PANEL_H + 38}" class="axis" text-anchor="middle">nodes (log scale)</text>`);
  out.push(`<text transform="translate(${left - 62},${top + PANEL_H / 2}) rotate(-90)" class="axis" text-anchor="middle">${esc(spec.yLabel)}</text>`);
  if (spec.target) {
    out.push(`<line x1="${left}" x2="${left + PANEL_W}" y1="${py(spec.target.y)}" y2="${py(spec.target.y)}" class="target"/>`);
    out.push(`<text x="${left + PANEL_W - 4}" y="${py(spec.target.y) - 5}" class="small target-label" text-anchor="end">${esc(spec.target.label)}</text>`);
  }
  for (const transport of ['redis', 'multicast'] as const) {
    nsList.forEach((ns, k) => {
      const series = ok.filter((p) => p.transport === transport && p.namespaces === ns).sort((a, b) => a.nodes - b.nodes);
      if (series.length === 0) return;
      const color = NS_COLORS[k % NS_COLORS.length]!;
      const d = series.map((p, j) => `${j === 0 ? 'M' : 'L'}${px(p.nodes).toFixed(1)},${py(spec.value(p)!).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2.2"${transport === 'multicast' ? ' stroke-dasharray="7 5"' : ''}/>`);
      for (const p of series) {
        const fill = p.machine.saturated ? '#fff' : color;
        out.push(`<circle cx="${px(p.nodes)}" cy="${py(spec.value(p)!)}" r="4.5" fill="${fill}" stroke="${color}" stroke-width="2"/>`);
        const anchor = p.nodes === xs[xs.length - 1] ? 'end' : 'start';
        out.push(`<text x="${px(p.nodes) + (anchor === 'end' ? -7 : 7)}" y="${py(spec.value(p)!) + (transport === 'multicast' ? 15 : -7)}" class="value" text-anchor="${anchor}" style="fill:${color}">${esc(spec.fmt(spec.value(p)!))}</text>`);
      }
    });
  }
  return out.join('\n');
}

const bytes = (v: number): string => (v >= 1e6 ? `${(v / 1e6).toFixed(v >= 1e7 ? 0 : 1)} MB` : v >= 1e3 ? `${(v / 1e3).toFixed(v >= 1e4 ? 0 : 1)} kB` : `${Math.round(v)} B`);
const ms = (v: number): string => (v >= 100 ? `${Math.round(v)}` : v >= 1 ? v.toFixed(1) : v.toFixed(2));

export function clusterChartSvg(data: SwarmFile): string {
  const points = data.points;
  const xs = [...new Set(points.map((p) => p.nodes))].sort((a, b) => a - b);
  const nsList = [...new Set(points.map((p) => p.namespaces))].sort((a, b) => a - b);
  const legend = [
    ...nsList.map((ns, k) => `<rect x="${90 + k * 170}" y="14" width="14" height="14" fill="${NS_COLORS[k % NS_COLORS.length]}"/><text x="${110 + k * 170}" y="26" class="legend">${kfmt(ns)} namespaces</text>`),
    `<line x1="${90 + nsList.length * 170}" x2="${120 + nsList.length * 170}" y1="21" y2="21" stroke="#333" stroke-width="2.2"/><text x="${126 + nsList.length * 170}" y="26" class="legend">Redis</text>`,
    `<line x1="${200 + nsList.length * 170}" x2="${230 + nsList.length * 170}" y1="21" y2="21" stroke="#333" stroke-width="2.2" stroke-dasharray="7 5"/><text x="${236 + nsList.length * 170}" y="26" class="legend">multicast</text>`,
    `<circle cx="${97}" cy="46" r="4.5" fill="#fff" stroke="#333" stroke-width="2"/><text x="110" y="50" class="small">hollow: measured while the 2 cores were saturated (≥ 90 % busy)</text>`,
  ].join('');
  const specs: PanelSpec[] = [
    { title: 'CPU per node per round', subtitle: 'a full node (whole table of the cluster), ms of CPU (log)', yLabel: 'ms per round', value: (p) => p.perNode.fullCpuMsPerRound, fmt: ms, logY: true },
    { title: 'Bytes per node per round', subtitle: 'sent + received (Redis: its subscriber socket) (log)', yLabel: 'bytes per round', value: (p) => p.perNode.sentBytesPerRound + p.perNode.receivedBytesPerRound, fmt: bytes, logY: true },
    { title: 'Redis CPU per round', subtitle: 'used_cpu_sys + used_cpu_user from INFO, ms (log)', yLabel: 'ms per round', value: (p) => p.redis?.cpuMsPerRound, fmt: ms, logY: true },
    { title: 'Convergence: a change until every node shows it', subtitle: 'slowest of the probes (one per round), ms; saturated points left out', yLabel: 'milliseconds', value: (p) => (p.machine.saturated ? undefined : p.convergenceMs.max), fmt: (v) => String(Math.round(v)), logY: false, target: { y: TARGET_MS, label: 'target: one round (2 s + 10 % jitter) + one tick' } },
  ];
  const panels = specs.map((spec, i) => panel(LEFTS[i % 2]!, TOPS[Math.floor(i / 2)]!, spec, points, xs, nsList)).join('\n');
  const first = points.find((p) => !p.skipped);
  const note = `Simulated nodes (the daemon's RedisCluster / MulticastCluster)${first ? `, ${first.viewers / first.namespaces} viewers per namespace, Zipf popularity, joins/leaves per round = ${first.eventsPerRound / first.namespaces * 100} % of the namespaces, round ${first.intervalMs} ms` : ''}.`;
  const note2 = `2 shared cores, ${data.measured}. bench/redis-swarm.ts + bench/cluster-chart.ts`;
  return `${svgOpen(W, H, 11)}
${legend}
${panels}
<text x="90" y="${H - 26}" class="small">${esc(note)}</text>
<text x="90" y="${H - 10}" class="small">${esc(note2)}</text>
</svg>
`;
}

chartMain<SwarmFile>('cluster-chart', { in: 'bench/results/redis-swarm.json', out: 'bench/results/cluster-scale.png' }, { width: W, height: H }, clusterChartSvg);
