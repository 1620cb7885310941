// What the bench charts share: SVG text escaping, axis ticks, and the PNG made by headless Chromium
// (playwright-core, /usr/bin/chromium) from an SVG drawn by hand (no chart library).
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { log, runMain } from './run-kit.js';
import { repoRoot } from './targets.js';

export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
export const kfmt = (n: number): string => (n >= 1000 ? `${n / 1000}k` : String(n));

/** Round-ish upper bound for an axis, and its ticks. */
export function niceTicks(max: number, count = 5): number[] {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  return Array.from({ length: Math.ceil(max / step) + 1 }, (_, k) => k * step);
}

/** Ticks 1, 3, 10, 30, … covering [min, max], for a log axis. */
export function logTicks(min: number, max: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) for (const m of [1, 3]) out.push(m * 10 ** e);
  const lo = out.filter((t) => t <= min).pop() ?? out[0]!;
  const hi = out.find((t) => t >= max) ?? out[out.length - 1]!;
  return out.filter((t) => t >= lo && t <= hi);
}

/** Screenshots `svg` (width × height) to a PNG at `out`. */
export async function svgToPng(svg: string, width: number, height: number, out: string, executablePath = '/usr/bin/chromium'): Promise<void> {
  const browser = await chromium.launch({ executablePath });
  try {
    const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: 1 });
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
    await page.screenshot({ path: out, clip: { x: 0, y: 0, width, height } });
  } finally {
    await browser.close();
  }
}

/** The opening of a chart's SVG: its size, the shared styles (small text at `smallPx`), a white background. */
export function svgOpen(width: number, height: number, smallPx = 10): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<style>
  text { font-family: "DejaVu Sans", Arial, sans-serif; fill: #222; }
  .title { font-size: 15px; font-weight: bold; }
  .legend { font-size: 14px; }
  .axis { font-size: 12px; fill: #444; }
  .tick { font-size: 11px; fill: #444; }
  .small { font-size: ${smallPx}px; }
  .value { font-size: 11px; font-weight: bold; }
  .grid { stroke: #e4e4e4; stroke-width: 1; }
  .frame { fill: none; stroke: #999; stroke-width: 1; }
  .target { stroke: #c00; stroke-width: 1.2; stroke-dasharray: 5 4; }
  .target-label { fill: #c00; }
</style>
<rect width="100%" height="100%" fill="#fff"/>`;
}

/** A chart script's command line: --in (JSON), --out (PNG), --svg (a copy of the SVG), --chromium. */
export function chartMain<T>(name: string, defaults: { in: string; out: string }, size: { width: number; height: number }, draw: (data: T) => string): void {
  runMain(name, async () => {
    const { values } = parseArgs({
      options: {
        in: { type: 'string', default: defaults.in },
        out: { type: 'string', default: defaults.out },
        svg: { type: 'string' },
        chromium: { type: 'string', default: '/usr/bin/chromium' },
      },
      strict: true,
    });
    const svg = draw(JSON.parse(readFileSync(resolve(repoRoot, values.in!), 'utf8')) as T);
    if (values.svg) writeFileSync(values.svg, svg);
    const out = resolve(repoRoot, values.out!);
    await svgToPng(svg, size.width, size.height, out, values.chromium);
    log(`chart written to ${out}`);
  });
}
