// What the bench charts share: SVG text escaping, axis ticks, and the PNG made by headless Chromium
// (playwright-core, /usr/bin/chromium) from an SVG drawn by hand (no chart library).
import { chromium } from 'playwright-core';

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
