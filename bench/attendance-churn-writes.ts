// What the attendance log costs the primary per session under churn, as its table grows: the real log on a
// SQLite file in a temp directory, fed as the workers feed it during scenario-leak (every --tick-ms, --per-tick
// anonymous sessions that entered and left within the tick, over 2,000 namespaces), printing the primary's CPU
// (user + system) per session for each --step sessions written. The log writes in its own loop as in the
// daemon; the CPU of this process is the log's, the rest of it (building the events) being a few µs.
// --ids: the daemon's session ids (`time`: the clock, then random bits) or 128 random bits (`random`, what the
// daemon made before; the comparison of BENCHMARKS.md's sixth pass). --pg URL: the log on PostgreSQL instead,
// in a schema of its own dropped at the end; then the server's CPU per session is printed too (the backends
// of this log's connections, read from /proc: the server must be on this machine), and the WAL it wrote.
//   npm run build && node dist/bench/attendance-churn-writes.js [--sessions 600000] [--per-tick 400] [--tick-ms 50] [--step 100000]
//     [--ids time|random] [--pg postgres://postgres@127.0.0.1:5432/test]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createAttendanceLog } from '../src/attendance/create-attendance-log.js';
import type { SessionEntry, SessionExit } from '../src/protocol/sessions.js';
import { newSessionId } from '../src/worker/session-ids.js';
import { intFlag, log, runMain } from './run-kit.js';

interface Store {
  target: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };
  /** The server's side, PostgreSQL only: its CPU in µs and the WAL written in bytes, so far. */
  server?: () => Promise<{ cpuUs: number; walBytes: number }>;
  cleanup: () => Promise<void>;
}

function sqliteStore(): Store {
  const dir = mkdtempSync(join(tmpdir(), 'attendance-churn-'));
  return { target: { kind: 'sqlite', path: join(dir, 'log.db') }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** utime + stime of a process, in µs (/proc counts clock ticks, 100 a second here). */
function processCpuUs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return 0;
  }
}

async function postgresStore(base: string): Promise<Store> {
  const schema = `am_churn_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  url.searchParams.set('application_name', schema);
  // A backend's CPU is counted from when it is first seen; the log keeps its connections open.
  const seen = new Map<number, number>();
  return {
    target: { kind: 'postgres', url: url.toString() },
    server: async () => {
      const { rows } = await admin.query('SELECT pid, pg_current_wal_lsn() - \'0/0\' AS wal FROM pg_stat_activity RIGHT JOIN (SELECT 1) AS one ON application_name = $1', [schema]);
      let cpuUs = 0;
      for (const { pid } of rows as { pid: number | null }[]) {
        if (pid === null) continue;
        if (!seen.has(pid)) seen.set(pid, processCpuUs(pid));
      }
      for (const [pid, first] of seen) cpuUs += processCpuUs(pid) - first;
      return { cpuUs, walBytes: Number((rows[0] as { wal: string }).wal) };
    },
    cleanup: async () => {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sessions: { type: 'string', default: '600000' },
      'per-tick': { type: 'string', default: '400' },
      'tick-ms': { type: 'string', default: '50' },
      step: { type: 'string', default: '100000' },
      ids: { type: 'string', default: 'time' },
      pg: { type: 'string' },
    },
  });
  if (values.ids !== 'time' && values.ids !== 'random') throw new Error('--ids is time or random');
  const sessionId = values.ids === 'time' ? () => newSessionId() : () => randomBytes(16).toString('base64url');
  const total = intFlag(values, 'sessions', 1, 100_000_000);
  const perTick = intFlag(values, 'per-tick', 1, 100_000);
  const tickMs = intFlag(values, 'tick-ms', 0, 10_000);
  const step = intFlag(values, 'step', 1, 100_000_000);
  const store = values.pg ? await postgresStore(values.pg) : sqliteStore();
  const attendance = createAttendanceLog({ attendance: store.target, ipStorage: 'truncated', geoipDb: undefined, workers: 2 }, 'bench-node');
  try {
    attendance.start();
    if (!(await attendance.flushed(30_000))) throw new Error('the log did not start');
    log(`${total} sessions on ${store.target.kind}, ${values.ids} ids, ${perTick} per ${tickMs} ms, load average ${loadavg()[0]!.toFixed(2)}`);
    let written = 0;
    let since = 0;
    let cpu = process.cpuUsage();
    let server = await store.server?.();
    let wall = Date.now();
    while (written < total) {
      const entered: SessionEntry[] = [];
      const exited: SessionExit[] = [];
      for (let i = 0; i < perTick && written < total; i++, written++) {
        const session = sessionId();
        const at = Date.now();
        entered.push({
          session, connection: `bench-node-1-${written.toString(36)}`, ns: `leak-${written % 2000}`, user: null, name: null, at,
          page: null, browser: 'Other', os: 'Other', device: 'desktop', ip: `127.0.0.${2 + (written % 40)}`, transport: 'sse',
        });
        exited.push({ session, at: at + 3, reason: 'left' });
      }
      attendance.record(entered, exited);
      await new Promise((resolve) => setTimeout(resolve, tickMs));
      if (written % step < perTick || written === total) {
        if (!(await attendance.flushed(60_000))) throw new Error('the log fell behind by a minute');
        const used = process.cpuUsage(cpu);
        const n = written - since;
        since = written;
        const serverNow = await store.server?.();
        const serverSide = server && serverNow
          ? `; server ${((serverNow.cpuUs - server.cpuUs) / n).toFixed(1)} µs CPU and ${((serverNow.walBytes - server.walBytes) / n).toFixed(0)} bytes of WAL per session`
          : '';
        log(`${written} sessions in the table: ${((used.user + used.system) / n).toFixed(1)} µs CPU per session (user ${(used.user / n).toFixed(1)}, system ${(used.system / n).toFixed(1)})${serverSide}, ${Date.now() - wall} ms, load average ${loadavg()[0]!.toFixed(2)}`);
        cpu = process.cpuUsage();
        server = serverNow;
        wall = Date.now();
      }
    }
    await attendance.close(Date.now(), 30_000);
  } finally {
    await store.cleanup();
  }
}

runMain('attendance-churn-writes', main);
