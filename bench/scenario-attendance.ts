// Issue 5, scenario, end to end: a flash crowd of identified viewers written to the attendance log. The
// daemon runs with its defaults (2 workers) plus `--auth-secret` and `--attendance`: SQLite (a.db in the
// daemon's own temp dir) and/or PostgreSQL (--pg, a fresh schema per run, dropped after). 20,000 SSE viewers
// over 10 namespaces open their streams within 2 seconds (4 swarms, no cap on streams in flight), each with
// its own token (HS256, signed with jose, sub = viewer-N: 20,000 distinct users). Measured, per store:
//   - from the last TCP connect until the stats port shows every namespace exact (members and users);
//   - from the last TCP connect until all 20,000 sessions are rows in the database (COUNT polled every
//     --poll ms);
//   - once every viewer has disconnected (the swarms reset their sockets; measured from the moment the last
//     swarm had closed all of its own), until all 20,000 rows have their exit.
// Runs alternate between the stores; medians of --repeat runs per store. At the end of each run /metrics
// gives the log's queue: its high-water mark, its bound (--attendance-queue, by default sized from the
// node) and the events dropped, which must be 0 (issue 12: 200,000 identified joins on 12 workers).
//
//   npm run build && node dist/bench/scenario-attendance.js [--repeat 3] [--viewers 20000] [--seconds 2] \
//        [--swarms 4] [--workers 2] [--inflight 0] [--ready-timeout 60] [--stores sqlite,postgres] [--pg postgres://localhost/test]

import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { type NamespaceStats, StatsWatch, readMetrics, sleep } from './daemon-io.js';
import { type CpuUse, type Metric, type Row, CpuMeter, fmtInt, fmtMs, intFlag, log, procJiffies, quietRun, round, runMain, runsTable } from './run-kit.js';
import {
  type FlashCrowd,
  addressSpan,
  flashFleet,
  flashFrom,
  flashSpec,
  parseScenario,
  quietMetrics,
  refusals,
  report,
  sourceBaseFor,
  withDaemon,
} from './scenario-kit.js';
import { type SwarmTotals, nowMs } from './swarm-protocol.js';
import type { Target } from './targets.js';
import { tokenFile } from './tokens.js';
import { expectedPerNamespace } from './viewer-run.js';

type StoreKind = 'sqlite' | 'postgres';

interface Counts {
  sessions: number;
  exits: number;
}

/** Where the daemon writes, and how this process counts what is there. */
interface Store {
  kind: StoreKind;
  /** The value of --attendance (the daemon's working directory is its temp dir). */
  attendance: string;
  /** Rows of the audience_meter_sessions table, and those with an exit; zeros before the daemon created the table. */
  counts(target: Target): Promise<Counts>;
  /** What the rows say once everyone has left. */
  check(target: Target): Promise<{ users: number; left: number }>;
  close(): Promise<void>;
}

const COUNT_SQL = 'SELECT COUNT(*) AS sessions, COUNT(exit_at) AS exits FROM audience_meter_sessions';
const CHECK_SQL = "SELECT COUNT(DISTINCT user_id) AS users, SUM(CASE WHEN exit_reason = 'left' THEN 1 ELSE 0 END) AS left_ FROM audience_meter_sessions";

function sqliteStore(): Store {
  let db: Database.Database | undefined;
  const open = (target: Target): Database.Database | undefined => {
    try {
      db ??= new Database(join(target.dir, 'a.db'), { readonly: true, fileMustExist: true });
      return db;
    } catch {
      return undefined; // not created yet
    }
  };
  return {
    kind: 'sqlite',
    attendance: 'a.db',
    async counts(target) {
      try {
        const row = open(target)?.prepare(COUNT_SQL).get() as { sessions: number; exits: number } | undefined;
        return { sessions: row?.sessions ?? 0, exits: row?.exits ?? 0 };
      } catch {
        return { sessions: 0, exits: 0 }; // no table yet
      }
    },
    async check(target) {
      const row = open(target)!.prepare(CHECK_SQL).get() as { users: number; left_: number };
      return { users: row.users, left: row.left_ ?? 0 };
    },
    async close() {
      db?.close();
    },
  };
}

async function postgresStore(baseUrl: string): Promise<Store> {
  const schema = `am_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const reader = new pg.Client({ connectionString: url.toString() });
  await reader.connect();
  return {
    kind: 'postgres',
    attendance: url.toString(),
    async counts() {
      try {
        const { rows } = await reader.query<{ sessions: string; exits: string }>(COUNT_SQL);
        return { sessions: Number(rows[0]!.sessions), exits: Number(rows[0]!.exits) };
      } catch {
        return { sessions: 0, exits: 0 };
      }
    },
    async check() {
      const { rows } = await reader.query<{ users: string; left_: string | null }>(CHECK_SQL);
      return { users: Number(rows[0]!.users), left: Number(rows[0]!.left_ ?? 0) };
    },
    async close() {
      await reader.end();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
}

/**
 * The URL with a user name: node-postgres takes it from $USER when the URL has none and fails when that is
 * unset too, where psql (libpq) would use the login name. Same default here, for the daemon and for us.
 */
function withUser(raw: string): string {
  const url = new URL(raw);
  if (url.username === '' && !process.env.PGUSER && !process.env.USER) url.username = userInfo().username;
  return url.toString();
}

/** Polls the store every `pollMs` until `done` holds or `timeoutMs` passes: when it first held (epoch ms), or null. */
async function pollUntil(store: Store, target: Target, done: (c: Counts) => boolean, pollMs: number, timeoutMs: number): Promise<{ at: number | null; last: Counts }> {
  const until = nowMs() + timeoutMs;
  for (;;) {
    const t = nowMs();
    const last = await store.counts(target);
    if (done(last)) return { at: nowMs(), last };
    if (nowMs() > until) return { at: null, last };
    const wait = pollMs - (nowMs() - t);
    if (wait > 0) await sleep(wait);
  }
}

interface AttendanceRun {
  store: StoreKind;
  viewers: number;
  connectSpanMs: number;
  /** Last TCP connect → the stats port exact (members and users in every namespace). */
  lastConnectToStatsExactMs: number | null;
  /** Last TCP connect / last first event → every session a row. */
  lastConnectToEntriesMs: number | null;
  lastFirstEventToEntriesMs: number | null;
  /** The last swarm had closed its sockets → every row has its exit. */
  disconnectToExitsMs: number | null;
  stats: { members: number; users: number };
  rows: Counts & { users: number; left: number };
  /** From /metrics once every exit is written: the log's queue over the whole run. */
  queue: QueueFigures;
  refused: number;
  cpu: CpuUse;
  /** CPU seconds of the primary alone (it writes the log), from the crowd's start to the last exit written. */
  primaryCpuSeconds: number;
  totals: SwarmTotals;
  problems: string[];
}

interface QueueFigures {
  /** Most events waiting at once: after the joins were written, and over the whole run. */
  highWaterJoins: number;
  highWater: number;
  limit: number;
  dropped: number;
}

async function queueFigures(target: Target, localAddress: string): Promise<Omit<QueueFigures, 'highWaterJoins'>> {
  // The primary may be inside a write, and a machine shared at load 50 answers slowly: a few tries.
  let m: Map<string, number> | undefined;
  for (let attempt = 1; !m; attempt++) {
    try {
      m = await readMetrics(target.host, target.notificationPort!, localAddress, 30_000);
    } catch (err) {
      if (attempt === 5) throw err;
      log(`  /metrics: ${(err as Error).message}; again`);
    }
  }
  const get = (name: string): number => m.get(`audience_meter_attendance_${name}`) ?? NaN;
  return { highWater: get('queue_high_water'), limit: get('queue_limit'), dropped: get('dropped_total') };
}

function usersAndMembers(s: Record<string, NamespaceStats> | undefined): { members: number; users: number } {
  let members = 0;
  let users = 0;
  for (const v of Object.values(s ?? {})) {
    members += typeof v.members === 'number' ? v.members : 0;
    users += typeof v.users === 'number' ? v.users : 0;
  }
  return { members, users };
}

async function crowdToLog(
  target: Target,
  store: Store,
  c: FlashCrowd,
  o: { sourceBase: number; maxSeconds: number; tokens: string; pollMs: number; writeTimeoutMs: number; readyTimeoutMs: number; inflight: number },
): Promise<AttendanceRun> {
  const problems: string[] = [];
  const expect = expectedPerNamespace(c.viewers, c.namespaces);
  const fleet = flashFleet(target, c, { sourceBase: o.sourceBase, maxSeconds: o.maxSeconds, tokenFile: o.tokens, inflight: o.inflight });
  try {
    const before = await store.counts(target);
    if (before.sessions > 0) problems.push(`the database held ${before.sessions} sessions before the crowd came`);
    const cpu = new CpuMeter(() => [target.pid, ...fleet.pids()]);
    const primary0 = procJiffies(target.pid);
    const stats = new StatsWatch(
      target.host,
      target.statsPort!,
      (s) => Object.entries(expect).every(([ns, want]) => s[ns]?.members === want && s[ns]?.users === want),
      fleet.sideAddress,
    );
    stats.start();
    // Every viewer's row, or, once the crowd is in and some streams failed (a problem of its own), the rows
    // of those that were served: the log is then judged on what it was given, without waiting out the timeout.
    let served = c.viewers;
    const entries = pollUntil(store, target, (n) => n.sessions >= served, o.pollMs, o.readyTimeoutMs + o.writeTimeoutMs);
    fleet.start();
    log(`${target.label}, ${store.kind}: ${c.viewers} identified viewers within ${c.seconds} s from ${fleet.members.length} swarms`);
    const ready = await fleet.waitReady(o.readyTimeoutMs, (t) => log(`  connected ${t.connected}, first event ${t.firstEvent}, errors ${t.errors}, non-200 ${t.badStatus}`));
    if (!ready.ok) {
      problems.push(`only ${ready.totals.firstEvent}/${c.viewers} viewers got their first event`);
      served = ready.totals.firstEvent;
    }
    await stats.untilExact(10_000);
    const joined = await entries;
    const t = await fleet.timings();
    const exactAt = stats.exactSince();
    const seen = usersAndMembers(stats.last);
    if (exactAt === null) problems.push(`the stats never showed every namespace exact (last: ${seen.members} members, ${seen.users} users)`);
    if (joined.at === null) problems.push(`only ${joined.last.sessions}/${c.viewers} sessions in the database`);
    log(`  stats exact ${exactAt === null ? 'never' : `${round(exactAt - t.lastConnectAt)} ms`}, all sessions written ${joined.at === null ? 'never' : `${round(joined.at - t.lastConnectAt)} ms`} after the last connect`);
    const afterJoins = await queueFigures(target, fleet.sideAddress);

    const totals = await fleet.stop();
    const left = await pollUntil(store, target, (n) => n.exits >= Math.max(served, n.sessions), o.pollMs, o.writeTimeoutMs);
    const cpuUse = cpu.end();
    const primaryCpuSeconds = round((procJiffies(target.pid) - primary0) / 100, 2);
    if (left.at === null) problems.push(`only ${left.last.exits}/${c.viewers} exits in the database`);
    const rows = await store.check(target);
    const queue = { ...(await queueFigures(target, fleet.sideAddress)), highWaterJoins: afterJoins.highWater };
    if (queue.dropped !== 0) problems.push(`the log dropped ${queue.dropped} events (queue bound ${queue.limit})`);
    log(`  queue high-water ${queue.highWaterJoins} events after the joins, ${queue.highWater} in all, bound ${queue.limit}, dropped ${queue.dropped}`);
    if (rows.users !== c.viewers) problems.push(`${rows.users} distinct users in the database, expected ${c.viewers}`);
    const { refused, problem } = refusals(totals);
    if (problem) problems.push(problem);
    const run: AttendanceRun = {
      store: store.kind,
      viewers: c.viewers,
      connectSpanMs: round(t.lastConnectAt - t.firstOpenAt, 1),
      lastConnectToStatsExactMs: exactAt === null ? null : round(exactAt - t.lastConnectAt, 1),
      lastConnectToEntriesMs: joined.at === null ? null : round(joined.at - t.lastConnectAt, 1),
      lastFirstEventToEntriesMs: joined.at === null ? null : round(joined.at - t.lastFirstEventAt, 1),
      disconnectToExitsMs: left.at === null ? null : round(left.at - fleet.disconnectedAt, 1),
      stats: seen,
      rows: { ...left.last, ...rows },
      queue,
      refused,
      cpu: cpuUse,
      primaryCpuSeconds,
      totals,
      problems,
    };
    log(`  all exits written ${run.disconnectToExitsMs ?? 'never'} ms after the last viewer left`);
    return run;
  } finally {
    fleet.kill();
  }
}

async function main(): Promise<void> {
  const s = parseScenario('scenario-attendance', {
    ...flashSpec,
    stores: { type: 'string', default: 'sqlite,postgres' },
    pg: { type: 'string', default: 'postgres://localhost/test' },
    poll: { type: 'string', default: '20' },
    'write-timeout': { type: 'string', default: '60' },
    'ready-timeout': { type: 'string', default: '60' },
    // Streams opened and awaiting their first event, over all swarms; 0: no cap (the issue-5 crowd).
    inflight: { type: 'string', default: '0' },
  });
  const c = flashFrom(s.values, 'event');
  const stores = s.values.stores!.split(',') as StoreKind[];
  if (stores.length === 0 || stores.some((k) => k !== 'sqlite' && k !== 'postgres')) throw new Error('--stores: sqlite and/or postgres');
  const pgUrl = withUser(s.values.pg!);
  if (stores.includes('postgres')) {
    const probe = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 5_000 });
    try {
      await probe.connect();
      await probe.end();
    } catch (err) {
      throw new Error(`PostgreSQL at ${pgUrl} unreachable (${(err as Error).message}); give --pg, or --stores sqlite`);
    }
  }
  const pollMs = intFlag(s.values, 'poll', 5, 1000);
  const writeTimeoutMs = intFlag(s.values, 'write-timeout', 5, 600) * 1000;
  const readyTimeoutMs = intFlag(s.values, 'ready-timeout', 5, 600) * 1000;
  const inflight = intFlag(s.values, 'inflight', 0, 100_000);
  const secret = randomBytes(24).toString('base64url');
  const tokens = await tokenFile(c.viewers, secret);

  const runs: Array<AttendanceRun & { loadavgAtStart: number; redone: string[]; repeat: number }> = [];
  let attempt = 0;
  for (let k = 0; k < s.repeat; k++) {
    for (const kind of k % 2 === 0 ? stores : [...stores].reverse()) {
      const r = await quietRun(s.quiet, `run ${k + 1}/${s.repeat}, ${kind}`, async () => {
        const store = kind === 'sqlite' ? sqliteStore() : await postgresStore(pgUrl);
        try {
          return await withDaemon(s, { extra: ['--attendance', store.attendance, '--auth-secret', secret] }, (target) =>
            crowdToLog(target, store, c, {
              sourceBase: sourceBaseFor(attempt++, c.sourceBase, addressSpan(c.viewers, Math.ceil(c.viewers / c.swarms))),
              maxSeconds: s.maxSeconds,
              tokens: tokens.path,
              pollMs,
              writeTimeoutMs,
              readyTimeoutMs,
              inflight,
            }),
          );
        } finally {
          await store.close();
        }
      });
      runs.push({ ...r, repeat: k + 1 });
      await sleep(3000);
    }
  }
  tokens.remove();

  const metrics: Array<Metric<(typeof runs)[number]>> = [
    { label: 'last TCP connect after', get: (r) => r.connectSpanMs, fmt: fmtMs },
    { label: 'last connect → stats exact', get: (r) => r.lastConnectToStatsExactMs ?? undefined, fmt: fmtMs },
    { label: 'last connect → all sessions in DB', get: (r) => r.lastConnectToEntriesMs ?? undefined, fmt: fmtMs },
    { label: 'last first event → all sessions in DB', get: (r) => r.lastFirstEventToEntriesMs ?? undefined, fmt: fmtMs },
    { label: 'last disconnect → all exits in DB', get: (r) => r.disconnectToExitsMs ?? undefined, fmt: fmtMs },
    { label: 'stats members', get: (r) => r.stats.members, fmt: fmtInt },
    { label: 'stats users', get: (r) => r.stats.users, fmt: fmtInt },
    { label: 'session rows', get: (r) => r.rows.sessions, fmt: fmtInt },
    { label: 'session rows with an exit', get: (r) => r.rows.exits, fmt: fmtInt },
    { label: 'distinct users in rows', get: (r) => r.rows.users, fmt: fmtInt },
    { label: 'queue high-water after the joins (events)', get: (r) => r.queue.highWaterJoins, fmt: fmtInt },
    { label: 'queue high-water, whole run (events)', get: (r) => r.queue.highWater, fmt: fmtInt },
    { label: 'queue bound (events)', get: (r) => r.queue.limit, fmt: fmtInt },
    { label: 'events dropped', get: (r) => r.queue.dropped, fmt: fmtInt },
    { label: 'refused / failed', get: (r) => r.refused, fmt: fmtInt },
    { label: 'primary CPU, crowd to last exit written (s)', get: (r) => r.primaryCpuSeconds, fmt: (x) => x.toFixed(2) },
    ...quietMetrics(),
  ];
  const rows: Row[] = [];
  const medians: Partial<Record<StoreKind, Record<string, number>>> = {};
  for (const kind of stores) {
    const t = runsTable(
      runs.filter((r) => r.store === kind),
      metrics,
    );
    medians[kind] = t.medians;
    rows.push([`== ${kind === 'sqlite' ? 'SQLite (a.db in the daemon\'s temp dir)' : `PostgreSQL (${pgUrl}, a fresh schema per run)`}`, ''], ...t.rows, ['', '']);
  }
  const problems = runs.flatMap((r) => [
    ...r.problems.map((p) => `${r.store} run ${r.repeat}: ${p}`),
    ...r.redone.filter((w) => w.startsWith('kept anyway')).map((w) => `${r.store} run ${r.repeat}: ${w}`),
  ]);
  report(s, {
    fields: { workers: s.workers, viewers: c.viewers, seconds: c.seconds, inflight, namespaces: c.namespaces.length, stores, repeat: s.repeat },
    rows,
    medians,
    problems,
    runs,
    title: `scenario-attendance: audience-meter, ${s.workers} workers, ${c.viewers.toLocaleString('en-US')} identified viewers within ${c.seconds} s${inflight > 0 ? ` (at most ${inflight} in flight)` : ''} over ${c.namespaces.length} namespaces, ${s.repeat} runs per store`,
  });
}

runMain('scenario-attendance', main);
