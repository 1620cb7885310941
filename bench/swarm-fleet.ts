// Forks and drives a set of sse-swarm child processes (SSE or WebSocket viewers), each with its own source addresses 127.0.0.B,
// B = sourceBase, sourceBase + 1, … (at most `perAddress` sockets on one address).
// Viewers are numbered globally and viewer v joins namespace v % namespaces.length, so namespaces
// get equal shares however the viewers are split between swarms.

import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  type ChildMessage,
  type Hist,
  type NamespaceCounts,
  type ParentMessage,
  type SwarmTimings,
  type SwarmTotals,
  addTotals,
  emptyTotals,
  histMerge,
  isLoopbackV4,
  nowMs,
} from './swarm-protocol.js';

export interface FleetOptions {
  host: string;
  port: number;
  namespaces: string[];
  viewers: number;
  /** Most sockets per swarm process (each process stays well under its open-file limit). */
  perSwarm: number;
  /** Connections per second opened by each swarm. */
  rate: number;
  /** Last octet of the first source address (127.0.0.<sourceBase>). */
  sourceBase: number;
  /** Most sockets opened from one source address (default 5,000). */
  perAddress?: number;
  /** Hard deadline after which every swarm exits on its own. */
  maxSeconds: number;
  /** Most streams per swarm opened and still waiting for their first event (0 or absent: no cap). */
  maxInflight?: number;
  /** Churn: streams each swarm opens in all, `perSwarm`-many at a time (see sse-swarm.ts). */
  cyclesPerSwarm?: number;
  /** How churned streams are closed: FIN (a tab closing) or RST. */
  close?: 'fin' | 'rst';
  /** Identity tokens, one per line, viewer v using line v (see sse-swarm.ts --token-file). */
  tokenFile?: string;
  /** How viewers connect: an SSE request (the default) or a WebSocket upgrade. */
  transport?: Transport;
}

export type Transport = 'sse' | 'ws';

/** Every swarm's timings merged: earliest open, latest connect / head / first event, merged histograms. */
export type FleetTimings = SwarmTimings;

export interface ReadyResult {
  ok: boolean;
  ms: number;
  totals: SwarmTotals;
}

export interface ProbeResult {
  probe: string;
  expected: number;
  received: number;
  hist: Hist;
  notifyMs: number;
}

interface Member {
  child: ChildProcess;
  address: string;
  count: number;
  totals: SwarmTotals;
  exited: boolean;
  exitCode: number | null;
}

type Waiter = { match: (m: ChildMessage) => boolean; resolve: (m: ChildMessage) => void };

export class SwarmFleet {
  readonly members: Member[] = [];
  private readonly waiters = new Map<Member, Waiter[]>();

  /** Source address for side requests (notifications, stats): the one after the swarms' addresses. */
  readonly sideAddress: string;
  /** After stop(): when the last swarm had closed all its sockets (epoch ms; NaN if none said). */
  disconnectedAt = NaN;
  /** Kills the swarms if this process exits while they run (an error, the deadline, Ctrl-C). */
  private readonly killOnExit = () => this.kill();

  constructor(readonly opts: FleetOptions) {
    if (!isLoopbackV4(opts.host)) throw new Error(`refusing to load ${opts.host}: only 127.0.0.0/8 is allowed`);
    const used = SwarmFleet.addressesFor(opts);
    if (opts.sourceBase + used > 254) throw new Error(`too many source addresses (${used}) for source base ${opts.sourceBase}`);
    this.sideAddress = `127.0.0.${opts.sourceBase + used}`;
  }

  /** Source addresses a fleet with these options uses (the side address comes after them). */
  static addressesFor(opts: Pick<FleetOptions, 'viewers' | 'perSwarm' | 'perAddress'>): number {
    const n = Math.max(1, Math.ceil(opts.viewers / opts.perSwarm));
    return n * Math.max(1, Math.ceil(Math.ceil(opts.viewers / n) / (opts.perAddress ?? 5000)));
  }

  /** Forks the swarms; they start connecting at once. */
  start(): void {
    process.once('exit', this.killOnExit);
    const { viewers, perSwarm } = this.opts;
    const n = Math.max(1, Math.ceil(viewers / perSwarm));
    const script = fileURLToPath(new URL('./sse-swarm.js', import.meta.url));
    let offset = 0;
    const perSwarmAddresses = SwarmFleet.addressesFor(this.opts) / n;
    for (let k = 0; k < n; k++) {
      const count = Math.floor(viewers / n) + (k < viewers % n ? 1 : 0);
      const first = this.opts.sourceBase + k * perSwarmAddresses;
      const address = Array.from({ length: perSwarmAddresses }, (_, j) => `127.0.0.${first + j}`).join(',');
      const child = fork(
        script,
        [
          '--host', this.opts.host,
          '--port', String(this.opts.port),
          '--namespaces', this.opts.namespaces.join(','),
          '--offset', String(offset),
          '--count', String(count),
          '--local-address', address,
          '--rate', String(this.opts.rate),
          '--max-seconds', String(this.opts.maxSeconds),
          '--max-inflight', String(this.opts.maxInflight ?? 0),
          '--cycles', String(this.opts.cyclesPerSwarm ?? 0),
          '--close', this.opts.close ?? 'fin',
          ...(this.opts.tokenFile ? ['--token-file', this.opts.tokenFile] : []),
          '--transport', this.opts.transport ?? 'sse',
        ],
        { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] },
      );
      const member: Member = { child, address, count, totals: emptyTotals(), exited: false, exitCode: null };
      this.members.push(member);
      this.waiters.set(member, []);
      child.on('message', (raw) => this.onMessage(member, raw as ChildMessage));
      child.on('exit', (code) => {
        member.exited = true;
        member.exitCode = code;
      });
      offset += count;
    }
  }

  private onMessage(m: Member, msg: ChildMessage): void {
    if (msg.type === 'progress' || msg.type === 'stopped') m.totals = msg.totals;
    const list = this.waiters.get(m)!;
    const idx = list.findIndex((w) => w.match(msg));
    if (idx >= 0) list.splice(idx, 1)[0].resolve(msg);
  }

  private waitFor<T extends ChildMessage>(m: Member, match: (msg: ChildMessage) => boolean, timeoutMs: number): Promise<T | undefined> {
    return new Promise((resolve) => {
      const w: Waiter = {
        match,
        resolve: (msg) => {
          clearTimeout(timer);
          resolve(msg as T);
        },
      };
      const timer = setTimeout(() => {
        const list = this.waiters.get(m)!;
        const i = list.indexOf(w);
        if (i >= 0) list.splice(i, 1);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.get(m)!.push(w);
    });
  }

  private post(m: Member, msg: ParentMessage): void {
    if (!m.exited && m.child.connected) m.child.send(msg);
  }

  /** Pids of the swarm processes still running (for CPU accounting). */
  pids(): number[] {
    return this.members.filter((m) => !m.exited && m.child.pid !== undefined).map((m) => m.child.pid!);
  }

  /** Collects and merges every live swarm's timings. */
  async timings(): Promise<FleetTimings> {
    const live = this.members.filter((m) => !m.exited);
    const replies = live.map((m) =>
      this.waitFor<Extract<ChildMessage, { type: 'timings' }>>(m, (msg) => msg.type === 'timings', 10_000),
    );
    for (const m of live) this.post(m, { type: 'timings' });
    const got = (await Promise.all(replies)).filter((r) => r !== undefined).map((r) => r.timings);
    // NaN crossed IPC as null.
    const num = (x: number | null): number => (typeof x === 'number' ? x : NaN);
    const pick = (f: (t: SwarmTimings) => number, agg: (a: number, b: number) => number): number =>
      got.map((t) => num(f(t))).filter((x) => Number.isFinite(x)).reduce(agg, NaN as number);
    const min = (a: number, b: number) => (Number.isNaN(a) ? b : Math.min(a, b));
    const max = (a: number, b: number) => (Number.isNaN(a) ? b : Math.max(a, b));
    const timeline = new Map<number, number>();
    for (const t of got) for (const [slot, n] of t.timeline) timeline.set(slot, (timeline.get(slot) ?? 0) + n);
    return {
      firstOpenAt: pick((t) => t.firstOpenAt, min),
      lastOpenAt: pick((t) => t.lastOpenAt, max),
      lastConnectAt: pick((t) => t.lastConnectAt, max),
      lastHeadAt: pick((t) => t.lastHeadAt, max),
      lastFirstEventAt: pick((t) => t.lastFirstEventAt, max),
      connect: histMerge(got.map((t) => t.connect)),
      firstEvent: histMerge(got.map((t) => t.firstEvent)),
      timeline: [...timeline.entries()].sort((a, b) => a[0] - b[0]),
    };
  }

  totals(): SwarmTotals {
    const t = emptyTotals();
    for (const m of this.members) addTotals(t, m.totals);
    return t;
  }

  /**
   * Resolves once every viewer has its first event (ok), once every socket has either done so or
   * failed (not ok), or at the timeout (not ok).
   */
  async waitReady(timeoutMs: number, onProgress?: (t: SwarmTotals) => void): Promise<ReadyResult> {
    const start = nowMs();
    let lastReport = 0;
    for (;;) {
      const t = this.totals();
      const now = nowMs();
      if (onProgress && now - lastReport >= 1000) {
        lastReport = now;
        onProgress(t);
      }
      if (t.firstEvent >= this.opts.viewers) return { ok: true, ms: now - start, totals: t };
      const failed = t.errors + t.badStatus + t.closedByPeer;
      const allExited = this.members.every((m) => m.exited);
      if ((t.opened >= this.opts.viewers && t.firstEvent + failed >= this.opts.viewers) || allExited || now - start > timeoutMs) {
        return { ok: false, ms: now - start, totals: t };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Arms every swarm for marker `data: <payload>`, takes t0, calls `fire` (which sends the
   * notifications), then gathers the arrival-time histograms relative to t0.
   */
  async probe(payloadFor: (id: string) => string, fire: (id: string) => Promise<void>, timeoutMs: number): Promise<ProbeResult> {
    const id = randomBytes(6).toString('hex');
    const payload = payloadFor(id);
    const live = this.members.filter((m) => !m.exited);
    const armed = live.map((m) => this.waitFor(m, (msg) => msg.type === 'armed' && msg.probe === id, 10_000));
    for (const m of live) this.post(m, { type: 'arm', probe: id, payload });
    await Promise.all(armed);
    const results = live.map((m) =>
      this.waitFor<Extract<ChildMessage, { type: 'probe-result' }>>(
        m,
        (msg) => msg.type === 'probe-result' && msg.probe === id,
        timeoutMs + 10_000,
      ),
    );
    const t0 = nowMs();
    for (const m of live) this.post(m, { type: 'go', probe: id, t0, timeoutMs });
    await fire(id);
    const notifyMs = nowMs() - t0;
    const got = (await Promise.all(results)).filter((r) => r !== undefined);
    return {
      probe: id,
      expected: got.reduce((a, r) => a + r.expected, 0),
      received: got.reduce((a, r) => a + r.received, 0),
      hist: histMerge(got.map((r) => r.hist)),
      notifyMs,
    };
  }

  /** Per namespace: live sockets, range of last counts seen, and how many equal `expect`. */
  async counts(expect: Record<string, number>): Promise<Record<string, NamespaceCounts>> {
    const live = this.members.filter((m) => !m.exited);
    const replies = live.map((m) =>
      this.waitFor<Extract<ChildMessage, { type: 'counts' }>>(m, (msg) => msg.type === 'counts', 10_000),
    );
    for (const m of live) this.post(m, { type: 'counts', expect });
    const out: Record<string, NamespaceCounts> = {};
    for (const r of await Promise.all(replies)) {
      if (!r) continue;
      for (const [ns, c] of Object.entries(r.perNamespace)) {
        const o = (out[ns] ??= { sockets: 0, min: -1, max: -1, matching: 0 });
        o.sockets += c.sockets;
        o.matching += c.matching;
        if (c.min >= 0) o.min = o.min < 0 ? c.min : Math.min(o.min, c.min);
        o.max = Math.max(o.max, c.max);
      }
    }
    return out;
  }

  /** Asks every swarm to close its sockets and exit; kills the ones that do not within 5 s. */
  async stop(): Promise<SwarmTotals> {
    const stopped = this.members.map((m) => (m.exited ? Promise.resolve(undefined) : this.waitFor(m, (msg) => msg.type === 'stopped', 5_000)));
    for (const m of this.members) this.post(m, { type: 'stop' });
    for (const msg of await Promise.all(stopped)) {
      if (msg?.type === 'stopped') this.disconnectedAt = Number.isNaN(this.disconnectedAt) ? msg.at : Math.max(this.disconnectedAt, msg.at);
    }
    await Promise.all(
      this.members.map(
        (m) =>
          new Promise<void>((resolve) => {
            if (m.exited) return resolve();
            const timer = setTimeout(() => {
              m.child.kill('SIGKILL');
              resolve();
            }, 5_000);
            m.child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
    process.off('exit', this.killOnExit);
    return this.totals();
  }

  /** Last-resort synchronous kill, for exit handlers. */
  kill(): void {
    for (const m of this.members) if (!m.exited) m.child.kill('SIGKILL');
  }
}
