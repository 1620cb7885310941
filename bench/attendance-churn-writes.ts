// What the attendance log costs the primary per session under churn, as its table grows: the real log on a
// SQLite file in a temp directory, fed as the workers feed it during scenario-leak (every --tick-ms, --per-tick
// anonymous sessions that entered and left within the tick, over 2,000 namespaces), printing the primary's CPU
// (user + system) per session for each --step sessions written. The log writes in its own loop as in the
// daemon; the CPU of this process is the log's, the rest of it (building the events) being a few µs.
//   npm run build && node dist/bench/attendance-churn-writes.js [--sessions 600000] [--per-tick 400] [--tick-ms 50] [--step 100000]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAttendanceLog } from '../src/attendance/create-attendance-log.js';
import type { SessionEntry, SessionExit } from '../src/protocol/sessions.js';
import { intFlag, log, runMain } from './run-kit.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sessions: { type: 'string', default: '600000' },
      'per-tick': { type: 'string', default: '400' },
      'tick-ms': { type: 'string', default: '50' },
      step: { type: 'string', default: '100000' },
    },
  });
  const total = intFlag(values, 'sessions', 1, 100_000_000);
  const perTick = intFlag(values, 'per-tick', 1, 100_000);
  const tickMs = intFlag(values, 'tick-ms', 0, 10_000);
  const step = intFlag(values, 'step', 1, 100_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'attendance-churn-'));
  const attendance = createAttendanceLog({ attendance: { kind: 'sqlite', path: join(dir, 'log.db') }, ipStorage: 'truncated', geoipDb: undefined, workers: 2 }, 'bench-node');
  try {
    attendance.start();
    if (!(await attendance.flushed(30_000))) throw new Error('the log did not start');
    log(`${total} sessions, ${perTick} per ${tickMs} ms, load average ${loadavg()[0]!.toFixed(2)}`);
    let written = 0;
    let since = 0;
    let cpu = process.cpuUsage();
    let wall = Date.now();
    while (written < total) {
      const entered: SessionEntry[] = [];
      const exited: SessionExit[] = [];
      for (let i = 0; i < perTick && written < total; i++, written++) {
        const session = randomBytes(16).toString('base64url');
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
        log(`${written} sessions in the table: ${((used.user + used.system) / n).toFixed(1)} µs CPU per session (user ${(used.user / n).toFixed(1)}, system ${(used.system / n).toFixed(1)}), ${Date.now() - wall} ms, load average ${loadavg()[0]!.toFixed(2)}`);
        cpu = process.cpuUsage();
        wall = Date.now();
      }
    }
    await attendance.close(Date.now(), 30_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runMain('attendance-churn-writes', main);
