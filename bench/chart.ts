// The issue-3 chart: memory per viewer and the time for one message to reach the last viewer, against the
// number of viewers, for audience-meter and nginx + nchan, from the medians bench/viewer-sweep.ts wrote.
// Draws an SVG (no chart library), then has headless Chromium (playwright-core, /usr/bin/chromium)
// screenshot it to a PNG.
//
//   npm run build && node dist/bench/chart.js [--in bench/results/sweep.json] \
//        [--out bench/results/memory-and-fanout.png] [--svg /tmp/chart.svg]

import { chartMain, esc, kfmt, logTicks, niceTicks, svgOpen } from './svg-kit.js';
import type { SweepFile, SweepPoint } from './viewer-sweep.js';

const W = 1100;
const H = 460;
const PANEL_W = 440;
const PANEL_H = 290;
const TOP = 88;
const LEFTS = [85, 625];
const COLORS: Record<string, string> = { 'audience-meter': '#1f6fd1', nchan: '#e07b00' };
const NAMES: Record<string, string> = { 'audience-meter': 'audience-meter', nchan: 'nginx + nchan' };

function panel(
  left: number,
  title: string,
  subtitle: string,
  yLabel: string,
  points: SweepPoint[],
  value: (p: SweepPoint) => number,
  yFmt: (v: number) => string,
  xs: number[],
  opts: { logY?: boolean; target?: { y: number; label: string } } = {},
): string {
  const { target, logY } = opts;
  const ys = points.map(value).filter(Number.isFinite);
  const ticks = logY ? logTicks(Math.min(...ys), Math.max(...ys)) : niceTicks(Math.max(...ys, target?.y ?? 0) * 1.08);
  const yMin = logY ? ticks[0]! : 0;
  const yMax = ticks[ticks.length - 1]!;
  const lx0 = Math.log10(xs[0]!);
  const lx1 = Math.log10(xs[xs.length - 1]!);
  const px = (x: number) => left + ((Math.log10(x) - lx0) / (lx1 - lx0)) * PANEL_W;
  const py = logY
    ? (y: number) => TOP + PANEL_H - ((Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * PANEL_H
    : (y: number) => TOP + PANEL_H - (y / yMax) * PANEL_H;
  const out: string[] = [];
  out.push(`<text x="${left}" y="${TOP - 28}" class="title">${esc(title)}</text>`);
  out.push(`<text x="${left}" y="${TOP - 11}" class="axis">${esc(subtitle)}</text>`);
  for (const t of ticks) {
    out.push(`<line x1="${left}" x2="${left + PANEL_W}" y1="${py(t)}" y2="${py(t)}" class="grid"/>`);
    out.push(`<text x="${left - 8}" y="${py(t) + 4}" class="tick" text-anchor="end">${esc(yFmt(t))}</text>`);
  }
  for (const x of xs) {
    out.push(`<line x1="${px(x)}" x2="${px(x)}" y1="${TOP}" y2="${TOP + PANEL_H}" class="grid"/>`);
    const workers = [...new Set(points.filter((p) => p.viewers === x).map((p) => p.workers))].join('/');
    out.push(`<text x="${px(x)}" y="${TOP + PANEL_H + 18}" class="tick" text-anchor="middle">${kfmt(x)}</text>`);
    out.push(`<text x="${px(x)}" y="${TOP + PANEL_H + 32}" class="small" text-anchor="middle">${workers} w</text>`);
  }
  out.push(`<rect x="${left}" y="${TOP}" width="${PANEL_W}" height="${PANEL_H}" class="frame"/>`);
  out.push(`<text x="${left + PANEL_W / 2}" y="${TOP + PANEL_H + 50}" class="axis" text-anchor="middle">viewers (log scale; w = worker processes of each server)</text>`);
  out.push(`<text transform="translate(${left - 58},${TOP + PANEL_H / 2}) rotate(-90)" class="axis" text-anchor="middle">${esc(yLabel)}</text>`);
  if (target) {
    out.push(`<line x1="${left}" x2="${left + PANEL_W}" y1="${py(target.y)}" y2="${py(target.y)}" class="target"/>`);
    out.push(`<text x="${left + PANEL_W - 4}" y="${py(target.y) - 5}" class="small target-label" text-anchor="end">${esc(target.label)}</text>`);
  }
  for (const system of Object.keys(COLORS)) {
    const series = points.filter((p) => p.system === system && Number.isFinite(value(p))).sort((a, b) => a.viewers - b.viewers);
    if (series.length === 0) continue;
    const d = series.map((p, k) => `${k === 0 ? 'M' : 'L'}${px(p.viewers).toFixed(1)},${py(value(p)).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${COLORS[system]}" stroke-width="2.5"/>`);
    for (const p of series) {
      // Each point's value beside it: one system's above its line, the other's below.
      const other = points.find((q) => q.system !== system && q.viewers === p.viewers);
      const above = other === undefined || value(p) >= value(other);
      const anchor = p.viewers === xs[xs.length - 1] ? 'end' : 'start';
      const dx = anchor === 'end' ? -6 : 6;
      out.push(`<circle cx="${px(p.viewers)}" cy="${py(value(p))}" r="4" fill="${COLORS[system]}"/>`);
      out.push(`<text x="${px(p.viewers) + dx}" y="${py(value(p)) + (above ? -8 : 16)}" class="value" text-anchor="${anchor}" style="fill:${COLORS[system]}">${esc(yFmt(value(p)))}</text>`);
    }
  }
  return out.join('\n');
}

export function chartSvg(data: SweepFile): string {
  const xs = [...new Set(data.points.map((p) => p.viewers))].sort((a, b) => a - b);
  const legend = Object.keys(COLORS)
    .filter((s) => data.points.some((p) => p.system === s))
    .map((s, k) => `<rect x="${85 + k * 190}" y="14" width="14" height="14" fill="${COLORS[s]}"/><text x="${105 + k * 190}" y="26" class="legend">${esc(NAMES[s]!)}</text>`)
    .join('');
  return `${svgOpen(W, H)}
${legend}
${panel(LEFTS[0]!, 'Memory per idle viewer', 'RSS of all server processes, idle server subtracted', 'bytes per viewer', data.points, (p) => p.bytesPerViewerRss, (v) => `${Math.round(v).toLocaleString('en-US')}`, xs, { target: { y: 5000, label: 'target: 5 KB' } })}
${panel(LEFTS[1]!, 'Push: time until the last viewer has it', 'one message per namespace, sent at once (log scale)', 'milliseconds', data.points, (p) => p.fanoutLastMs, (v) => `${Math.round(v)}`, xs, { logY: true })}
<text x="85" y="${H - 8}" class="small">${esc(`Medians of ${Math.max(...data.points.map((p) => p.runs))} runs per point, 10 namespaces, SSE, load generator on the same 2-core machine (${data.measured}; ${data.daemon}). bench/viewer-sweep.ts + bench/chart.ts`)}</text>
</svg>
`;
}

chartMain<SweepFile>('chart', { in: 'bench/results/sweep.json', out: 'bench/results/memory-and-fanout.png' }, { width: W, height: H }, chartSvg);
