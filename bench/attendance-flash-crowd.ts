// How long a flash crowd takes to be fully written to the attendance log: N SessionEntry events handed to
// the primary's log as the workers' reports would bring them (reports of --per-report entries), timed until
// the log says everything is written; then the same crowd leaving. SQLite in a temp file and PostgreSQL in a
// schema of its own (dropped after). Also the longest the primary's event loop was blocked meanwhile, and
// the queue's high-water mark, bound (sized as a daemon of --workers workers sizes it) and dropped events.
//   node dist/bench/attendance-flash-crowd.js [--joins 20000] [--runs 3] [--per-report 500] [--workers 2] [--pg postgres://postgres@127.0.0.1:5432/test]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { parseAttendanceTarget } from '../src/attendance/attendance-options.js';
import { createAttendanceLog } from '../src/attendance/create-attendance-log.js';
import type { SessionEntry, SessionExit } from '../src/protocol/sessions.js';

const { values } = parseArgs({
  options: {
    joins: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '3' },
    'per-report': { type: 'string', default: '500' },
    workers: { type: 'string', default: '2' },
    pg: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const JOINS = Number(values.joins);
const RUNS = Number(values.runs);
const PER_REPORT = Number(values['per-report']);
const WORKERS = Number(values.workers);

function crowd(): SessionEntry[] {
  const now = Date.now();
  return Array.from({ length: JOINS }, (_, i) => ({
    session: randomBytes(16).toString('base64url'), connection: `bench:${i}`, ns: `event-${i % 10}`, user: `user-${i}`, name: `Viewer ${i}`,
    at: now + i, page: 'https://example.org/live', browser: 'Chrome 120', os: 'Windows 10', device: 'desktop',
    ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, transport: 'sse',
  }));
}

interface Result { joinMs: number; leaveMs: number; maxBlockMs: number; highWater: number; limit: number; dropped: number }

async function once(target: string): Promise<Result> {
  const log = createAttendanceLog({ attendance: parseAttendanceTarget(target), ipStorage: 'truncated', geoipDb: undefined, workers: WORKERS }, 'bench-node');
  log.start();
  if (!(await log.flushed(30_000))) throw new Error(`the log did not start: ${JSON.stringify(log.status())}`);
  const entries = crowd();
  const exits: SessionExit[] = entries.map((e) => ({ session: e.session, at: e.at + 60_000, reason: 'left' }));
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let start = performance.now();
  for (let i = 0; i < JOINS; i += PER_REPORT) log.record(entries.slice(i, i + PER_REPORT), []);
  if (!(await log.flushed(300_000))) throw new Error('joins not written');
  const joinMs = performance.now() - start;
  start = performance.now();
  for (let i = 0; i < JOINS; i += PER_REPORT) log.record([], exits.slice(i, i + PER_REPORT));
  if (!(await log.flushed(300_000))) throw new Error('exits not written');
  const leaveMs = performance.now() - start;
  delay.disable();
  const { highWater, limit, dropped } = log.status();
  await log.close(Date.now(), 10_000);
  return { joinMs, leaveMs, maxBlockMs: delay.max / 1e6, highWater, limit, dropped };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function store(name: string, setup: () => Promise<{ target: string; cleanup(): Promise<void> }>): Promise<void> {
  const results: Result[] = [];
  for (let run = 0; run < RUNS; run++) {
    const { target, cleanup } = await setup();
    try {
      results.push(await once(target));
    } finally {
      await cleanup();
    }
    process.stderr.write(`${name} run ${run + 1}: ${JSON.stringify(results.at(-1))}\n`);
  }
  const row = (key: keyof Result): string => `${results.map((r) => r[key].toFixed(0)).join(' / ')} → median ${median(results.map((r) => r[key])).toFixed(0)} ms`;
  const events = (key: 'highWater' | 'dropped'): string => results.map((r) => r[key]).join(' / ');
  console.log(`${name}: ${JOINS} joins written in ${row('joinMs')}; ${JOINS} exits in ${row('leaveMs')}; longest event-loop block ${row('maxBlockMs')}; `
    + `queue high-water ${events('highWater')} events of ${results[0]!.limit}, dropped ${events('dropped')}`);
}

console.log(`load before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${JOINS} joins in reports of ${PER_REPORT}, ${RUNS} runs, queue sized for ${WORKERS} workers`);
await store('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'am-bench-'));
  return { target: join(dir, 'bench.db'), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});
await store('PostgreSQL', async () => {
  const schema = `am_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: values.pg });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(values.pg!);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    target: url.toString(),
    cleanup: async () => {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
});
console.log(`load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
