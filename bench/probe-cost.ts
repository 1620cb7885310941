// What a load balancer's probes cost the daemon: worker CPU per 1,000 probes, each on a fresh connection as
// HAProxy and the kubelet send them, for GET /readyz (the raw fast path's pre-encoded answer), HEAD /readyz
// (node:http) and, for scale, a plain GET /{namespace} (node:http, 2.x's empty 200). One daemon, one worker,
// the kinds interleaved in rounds so a busy machine weighs on each alike; ratios are the figure to keep.
//   node dist/bench/probe-cost.js [--requests 3000] [--concurrency 10] [--rounds 3]
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { parseArgs } from 'node:util';
import { readStats } from './daemon-io.js';
import { procJiffies } from './run-kit.js';
import { HOST, startAudienceMeter } from './targets.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '3000' }, concurrency: { type: 'string', default: '10' }, rounds: { type: 'string', default: '3' } } });
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);

const KINDS = [
  { name: 'GET /readyz (raw path)', method: 'GET', path: '/readyz' },
  { name: 'HEAD /readyz (node:http)', method: 'HEAD', path: '/readyz' },
  { name: 'GET /{namespace} plain (node:http)', method: 'GET', path: '/some-event' },
] as const;

function once(port: number, method: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: HOST, port, method, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

async function burst(port: number, method: string, path: string): Promise<{ statuses: Map<number, number>; ms: number }> {
  const statuses = new Map<number, number>();
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next++ < REQUESTS) {
      const status = await once(port, method, path);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  }));
  return { statuses, ms: performance.now() - started };
}

const target = await startAudienceMeter({ workers: 1, extra: ['--attendance', 'off'] });
const [worker] = readFileSync(`/proc/${target.pid}/task/${target.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
const totals = KINDS.map(() => ({ jiffies: 0, ms: 0, requests: 0, statuses: new Map<number, number>() }));
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, kind] of KINDS.entries()) {
      const before = procJiffies(worker!);
      const { statuses, ms } = await burst(target.port, kind.method, kind.path);
      totals[i]!.jiffies += procJiffies(worker!) - before;
      totals[i]!.ms += ms;
      totals[i]!.requests += REQUESTS;
      for (const [status, n] of statuses) totals[i]!.statuses.set(status, (totals[i]!.statuses.get(status) ?? 0) + n);
    }
  }
  const stats = Object.keys(await readStats(HOST, target.statsPort!));
  const base = totals[0]!.jiffies / totals[0]!.requests;
  console.log(`| kind | requests | statuses | worker CPU per 1,000 | vs raw /readyz | requests/s |`);
  console.log(`|---|---|---|---|---|---|`);
  for (const [i, kind] of KINDS.entries()) {
    const t = totals[i]!;
    const perThousandMs = (t.jiffies * 10 * 1000) / t.requests;
    console.log(`| ${kind.name} | ${t.requests} | ${[...t.statuses].map(([s, n]) => `${s}×${n}`).join(' ')} | ${perThousandMs.toFixed(0)} ms | ${(t.jiffies / t.requests / base).toFixed(2)}× | ${Math.round(t.requests / (t.ms / 1000))} |`);
  }
  console.log(`namespaces in the stats afterwards: ${JSON.stringify(stats)} (probes must add none)`);
  console.log(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
} finally {
  await target.stop();
}

