// What a --retention-days pass costs: N closed sessions and N samples older than the cutoff, deleted by the
// log's own RetentionPass in its batches; prints the pass's total time and its longest batch (the longest a
// delete holds its transaction, and the primary's event loop with SQLite's synchronous driver).
// SQLite in a temp file and PostgreSQL in a schema of its own (dropped after).
//   node dist/bench/attendance-retention.js [--rows 100000] [--pg postgres://postgres@127.0.0.1:5432/test]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { parseAttendanceTarget } from '../src/attendance/attendance-options.js';
import { createAttendanceLog, openDatabase } from '../src/attendance/create-attendance-log.js';
import { DAY_MS, RetentionPass } from '../src/attendance/retention.js';
import type { SessionEntry } from '../src/protocol/sessions.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    pg: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const ROWS = Number(values.rows);
const OLD = Date.now() - 400 * DAY_MS;

async function seed(target: string): Promise<void> {
  const log = createAttendanceLog({ attendance: parseAttendanceTarget(target), ipStorage: 'truncated', geoipDb: undefined }, 'bench-node');
  log.start();
  for (let i = 0; i < ROWS; i += 5000) {
    const entries: SessionEntry[] = Array.from({ length: Math.min(5000, ROWS - i) }, (_, k) => ({
      session: randomBytes(16).toString('base64url'), connection: `bench:${i + k}`, ns: `event-${k % 10}`, user: `user-${i + k}`, name: null,
      at: OLD + i + k, page: null, browser: 'Chrome 120', os: 'Linux', device: 'desktop', ip: '10.0.0.1', transport: 'sse',
    }));
    log.record(entries, entries.map((e) => ({ session: e.session, at: e.at + 60_000, reason: 'left' as const })));
    log.sample(Array.from({ length: Math.min(5000, ROWS - i) }, (_, k) => ({ name: `event-${k}`, members: 1 })), OLD + i);
    if (!(await log.flushed(300_000))) throw new Error('seed not written');
  }
  await log.close(Date.now(), 10_000);
}

async function measure(name: string, target: string): Promise<void> {
  await seed(target);
  const db = openDatabase(parseAttendanceTarget(target) as Parameters<typeof openDatabase>[0]);
  const pass = new RetentionPass(Date.now() - 365 * DAY_MS);
  let batches = 0;
  let longest = 0;
  const start = performance.now();
  for (;;) {
    const t = performance.now();
    if (!(await pass.next(db))) break;
    longest = Math.max(longest, performance.now() - t);
    batches++;
  }
  const total = performance.now() - start;
  await db.close();
  console.log(`${name}: deleted ${pass.pruned.sessions} sessions and ${pass.pruned.samples} samples in ${batches} batches, `
    + `${total.toFixed(0)} ms in all, longest batch ${longest.toFixed(1)} ms`);
}

console.log(`load before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${ROWS} old sessions and samples`);
const dir = mkdtempSync(join(tmpdir(), 'am-retention-'));
try {
  await measure('SQLite', join(dir, 'bench.db'));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const schema = `am_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: values.pg });
await admin.connect();
await admin.query(`CREATE SCHEMA ${schema}`);
try {
  const url = new URL(values.pg!);
  url.searchParams.set('options', `-c search_path=${schema}`);
  await measure('PostgreSQL', url.toString());
} finally {
  await admin.query(`DROP SCHEMA ${schema} CASCADE`);
  await admin.end();
}
console.log(`load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
