// A real Prometheus server for tests: its own config and data in a temp dir, a free loopback port, a short
// scrape interval, scraping the targets the test gives.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './daemon.js';

export const SCRAPE_INTERVAL_S = 1;

export interface PrometheusSeries {
  metric: Record<string, string>;
  value: [number, string];
}

export interface Prometheus {
  port: number;
  /** An instant query; throws on a query error (a bad expression). */
  query(expr: string): Promise<PrometheusSeries[]>;
  /** Values of `label` among the series matching `selector` (what Grafana's label_values() lists). */
  labelValues(label: string, selector: string): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startPrometheus(job: string, targets: string[]): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'am-prometheus-'));
  const port = await freePort();
  const config = [
    'global:',
    `  scrape_interval: ${SCRAPE_INTERVAL_S}s`,
    `  scrape_timeout: ${SCRAPE_INTERVAL_S}s`,
    'scrape_configs:',
    `  - job_name: ${JSON.stringify(job)}`,
    '    static_configs:',
    `      - targets: ${JSON.stringify(targets)}`,
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), `${config}\n`);
  const child = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const api = async <T>(path: string): Promise<T> => {
    const reply = await fetch(`http://127.0.0.1:${port}${path}`);
    const body = await reply.json() as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error}`);
    return body.data;
  };
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
      return fetch(`http://127.0.0.1:${port}/-/ready`).then((r) => r.ok, () => false);
    }, 20_000, 'prometheus to be ready');
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    port,
    query: async (expr) => (await api<{ result: PrometheusSeries[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    labelValues: (label, selector) => api<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values?match[]=${encodeURIComponent(selector)}`),
    stop,
  };
}
