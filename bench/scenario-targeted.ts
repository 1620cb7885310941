// Issue 6, scenario: a targeted message with a crowd connected. The daemon runs with its defaults (2 workers,
// `--attendance off`); a crowd of idle SSE viewers (20,000 over 10 namespaces by default, from the swarm
// processes: the load generator speaks SSE only, so the crowd is all SSE) holds its streams. Then two
// receivers of our own join a namespace no one else is in, one over SSE and one over WebSocket (the `ws`
// package, in this process); their connection ids come from `GET /api/connections?ns=` on the admin
// port. Each receiver is sent --messages messages one at a time with `POST /api/connections/{id}/messages`
// ({"event":"bench","data":"<unique id>"}): the time from sending the POST to the receiver having the
// event, and the time until the POST's answer ({"delivered":1}) is read. Median and p95 per run and
// transport; the medians over --repeat runs.
//
//   npm run build && node dist/bench/scenario-targeted.js [--repeat 3] [--viewers 20000] [--messages 20]

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import WebSocket from 'ws';
import { httpRequest, sleep } from './daemon-io.js';
import { type CpuUse, type Metric, CpuMeter, fmtInt, fmtMs, intFlag, log, median, percentile, repeated, round, runMain, runsTable } from './run-kit.js';
import { addressSpan, parseScenario, quietMetrics, report, runProblems, sourceBaseFor, withDaemon } from './scenario-kit.js';
import type { SwarmTotals } from './swarm-protocol.js';
import type { Target } from './targets.js';
import { crowdFleet, crowdSpec } from './viewer-run.js';
import { type CrowdOptions, crowdOptionsFrom } from './viewer-scenario.js';

const TRANSPORTS = ['sse', 'ws'] as const;
type Transport = (typeof TRANSPORTS)[number];
const EVENT = 'bench';

/** One viewer of our own: resolves `expect(data)` with the moment (performance.now()) that message arrived. */
interface Receiver {
  transport: Transport;
  /** The first event (the count) has arrived. */
  ready: Promise<void>;
  expect(data: string, timeoutMs: number): Promise<number | undefined>;
  close(): void;
}

/** Routes arrivals to whoever waits for them. */
class Waiters {
  private readonly waiting = new Map<string, (at: number) => void>();

  expect(data: string, timeoutMs: number): Promise<number | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(data);
        resolve(undefined);
      }, timeoutMs);
      this.waiting.set(data, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
  }

  arrived(event: string, data: string, at: number): void {
    if (event !== EVENT) return;
    const w = this.waiting.get(data);
    this.waiting.delete(data);
    w?.(at);
  }
}

/** An EventSource-like reader: `event:` / `data:` lines, dispatched at the blank line. */
function sseReceiver(target: Target, ns: string, localAddress: string): Receiver {
  const waiters = new Waiters();
  let req: http.ClientRequest | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    req = http.request(
      { host: target.host, port: target.port, path: `/${ns}`, localAddress, agent: false, headers: { Accept: 'text/event-stream' } },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`SSE receiver: status ${res.statusCode}`));
        let buffered = '';
        let event = '';
        let data: string[] = [];
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const at = performance.now();
          buffered += chunk;
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl).replace(/\r$/, '');
            buffered = buffered.slice(nl + 1);
            if (line === '') {
              if (data.length > 0) {
                if (event === '') resolve();
                waiters.arrived(event, data.join('\n'), at);
              }
              event = '';
              data = [];
            } else if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
  return { transport: 'sse', ready, expect: (d, t) => waiters.expect(d, t), close: () => req?.destroy() };
}

/** A WebSocket viewer: JSON frames, `{"type":"message","event":…,"data":…}` for messages. */
function wsReceiver(target: Target, ns: string, localAddress: string): Receiver {
  const waiters = new Waiters();
  const ws = new WebSocket(`ws://${target.host}:${target.port}/${ns}`, { localAddress });
  const ready = new Promise<void>((resolve, reject) => {
    ws.on('message', (raw) => {
      const at = performance.now();
      const frame = JSON.parse(raw.toString()) as { type: string; event?: string; data?: unknown };
      if (frame.type === 'count') resolve();
      if (frame.type === 'message') waiters.arrived(String(frame.event), typeof frame.data === 'string' ? frame.data : JSON.stringify(frame.data), at);
    });
    ws.on('error', reject);
    ws.on('unexpected-response', (_req, res) => reject(new Error(`WebSocket receiver: status ${res.statusCode}`)));
  });
  return { transport: 'ws', ready, expect: (d, t) => waiters.expect(d, t), close: () => ws.terminate() };
}

interface Series {
  /** POST sent → event received, ms, one per message (undefined: never arrived). */
  receivedMs: Array<number | undefined>;
  /** POST sent → answer read, ms. */
  answeredMs: number[];
}

interface TargetedRun {
  viewers: number;
  /** Crowd viewers with their first event when the messages began. */
  connected: number;
  connectionIds: Record<Transport, string>;
  series: Record<Transport, Series>;
  summary: Record<Transport, { receivedP50Ms: number; receivedP95Ms: number; answeredP50Ms: number; answeredP95Ms: number; lost: number }>;
  cpu: CpuUse;
  totals: SwarmTotals;
  problems: string[];
}

/** The receivers' connection ids, from the admin API (polled: the primary learns of them at the workers' next report). */
async function connectionIds(target: Target, ns: string, localAddress: string): Promise<Record<Transport, string>> {
  const path = `/api/connections?ns=${ns}`;
  const until = Date.now() + 5_000;
  for (;;) {
    const a = await httpRequest({ host: target.host, port: target.notificationPort!, method: 'GET', path, localAddress });
    if (a.status !== 200) throw new Error(`GET ${path}: ${a.status} ${a.body.slice(0, 200)}`);
    const list = (JSON.parse(a.body) as { connections: Array<{ id: string; transport: string }> }).connections;
    const sse = list.find((c) => c.transport === 'sse')?.id;
    const ws = list.find((c) => c.transport === 'ws')?.id;
    if (sse && ws) return { sse, ws };
    if (Date.now() > until) throw new Error(`GET ${path} did not list one SSE and one WebSocket viewer: ${a.body.slice(0, 300)}`);
    await sleep(100);
  }
}

async function targeted(target: Target, c: CrowdOptions, o: { messages: number; timeoutMs: number; gapMs: number }): Promise<TargetedRun> {
  const problems: string[] = [];
  const fleet = crowdFleet(target, c);
  const receivers: Receiver[] = [];
  try {
    fleet.start();
    log(`${target.label}: ${c.viewers} SSE viewers over ${c.namespaces.length} namespaces from ${fleet.members.length} swarms`);
    const ready = await fleet.waitReady(c.readyTimeoutSeconds * 1000, (t) => log(`  connected ${t.connected}, first event ${t.firstEvent}, errors ${t.errors}`));
    if (!ready.ok) problems.push(`only ${ready.totals.firstEvent}/${c.viewers} viewers got a first event within ${c.readyTimeoutSeconds} s`);

    const ns = `targeted-${randomBytes(6).toString('hex')}`;
    receivers.push(sseReceiver(target, ns, fleet.sideAddress), wsReceiver(target, ns, fleet.sideAddress));
    await Promise.all(receivers.map((r) => r.ready));
    const ids = await connectionIds(target, ns, fleet.sideAddress);
    log(`receivers in ${ns}: SSE ${ids.sse}, WebSocket ${ids.ws}`);

    const series: Record<Transport, Series> = { sse: { receivedMs: [], answeredMs: [] }, ws: { receivedMs: [], answeredMs: [] } };
    const cpu = new CpuMeter(() => [target.pid, ...fleet.pids()]);
    for (let k = 0; k < o.messages; k++) {
      for (const r of k % 2 === 0 ? receivers : [...receivers].reverse()) {
        const data = `${r.transport}-${k}-${randomBytes(4).toString('hex')}`;
        const t0 = performance.now();
        const arrival = r.expect(data, o.timeoutMs);
        const answer = await httpRequest({
          host: target.host,
          port: target.notificationPort!,
          method: 'POST',
          path: `/api/connections/${encodeURIComponent(ids[r.transport])}/messages`,
          json: { event: EVENT, data },
          localAddress: fleet.sideAddress,
        });
        const at = await arrival;
        series[r.transport].answeredMs.push(round(answer.ms, 2));
        series[r.transport].receivedMs.push(at === undefined ? undefined : round(at - t0, 2));
        if (answer.status !== 200 || answer.body.replace(/\s/g, '') !== '{"delivered":1}') {
          problems.push(`${r.transport} message ${k + 1}: answer ${answer.status} ${answer.body.slice(0, 100)}`);
        }
        if (at === undefined) problems.push(`${r.transport} message ${k + 1}: not received within ${o.timeoutMs} ms`);
        await sleep(o.gapMs);
      }
    }
    const cpuUse = cpu.end();
    const summary = {} as TargetedRun['summary'];
    for (const t of TRANSPORTS) {
      const s = series[t];
      summary[t] = {
        receivedP50Ms: round(median(s.receivedMs), 2),
        receivedP95Ms: round(percentile(s.receivedMs, 95), 2),
        answeredP50Ms: round(median(s.answeredMs), 2),
        answeredP95Ms: round(percentile(s.answeredMs, 95), 2),
        lost: s.receivedMs.filter((x) => x === undefined).length,
      };
      log(`${t}: received median ${summary[t].receivedP50Ms} ms, p95 ${summary[t].receivedP95Ms} ms; answered median ${summary[t].answeredP50Ms} ms, p95 ${summary[t].answeredP95Ms} ms`);
    }
    const connected = fleet.totals().alive;
    const totals = await fleet.stop();
    if (totals.errors > 0) problems.push(`socket errors: ${JSON.stringify(totals.errorCodes)}`);
    if (totals.closedByPeer > 0) problems.push(`${totals.closedByPeer} crowd streams closed by the daemon`);
    if (totals.badStatus > 0) problems.push(`non-200 answers: ${JSON.stringify(totals.statusCodes)}`);
    return { viewers: c.viewers, connected, connectionIds: ids, series, summary, cpu: cpuUse, totals, problems };
  } finally {
    for (const r of receivers) r.close();
    fleet.kill();
  }
}

async function main(): Promise<void> {
  const s = parseScenario('scenario-targeted', {
    ...crowdSpec,
    viewers: { type: 'string', default: '20000' },
    messages: { type: 'string', default: '20' },
    'message-timeout': { type: 'string', default: '5' },
    gap: { type: 'string', default: '50' },
  });
  const c = crowdOptionsFrom(s.values, s.maxSeconds);
  const o = {
    messages: intFlag(s.values, 'messages', 1, 1000),
    timeoutMs: intFlag(s.values, 'message-timeout', 1, 60) * 1000,
    gapMs: intFlag(s.values, 'gap', 0, 10_000),
  };
  const runs = await repeated({ ...s.quiet, repeat: s.repeat }, (_k, attempt) =>
    withDaemon(s, { extra: ['--attendance', 'off'] }, (target) =>
      targeted(target, { ...c, sourceBase: sourceBaseFor(attempt, c.sourceBase, addressSpan(c.viewers, c.perSwarm)) }, o),
    ),
  );

  const per = (t: Transport, name: string): Array<Metric<(typeof runs)[number]>> => [
    { label: `${name}: POST → received, median`, get: (r) => r.summary[t].receivedP50Ms, fmt: fmtMs },
    { label: `${name}: POST → received, p95`, get: (r) => r.summary[t].receivedP95Ms, fmt: fmtMs },
    { label: `${name}: POST answered, median`, get: (r) => r.summary[t].answeredP50Ms, fmt: fmtMs },
    { label: `${name}: POST answered, p95`, get: (r) => r.summary[t].answeredP95Ms, fmt: fmtMs },
    { label: `${name}: messages lost`, get: (r) => r.summary[t].lost, fmt: fmtInt },
  ];
  const { rows, medians } = runsTable(runs, [
    { label: 'crowd viewers connected', get: (r) => r.connected, fmt: fmtInt },
    ...per('sse', 'SSE receiver'),
    ...per('ws', 'WebSocket receiver'),
    ...quietMetrics(),
  ]);
  report(s, {
    fields: { workers: s.workers, viewers: c.viewers, namespaces: c.namespaces.length, messages: o.messages, crowdTransport: 'sse', repeat: s.repeat },
    rows,
    medians,
    problems: runProblems(runs),
    runs,
    title: `scenario-targeted: audience-meter, ${s.workers} workers, --attendance off, ${c.viewers.toLocaleString('en-US')} SSE viewers over ${c.namespaces.length} namespaces; ${o.messages} messages to each receiver (SSE, WebSocket) per run, ${runs.length} runs`,
  });
}

runMain('scenario-targeted', main);
