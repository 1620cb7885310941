// Forks and drives a set of sse-swarm child processes: one per source address 127.0.0.B, B = 2, 3, …
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
  /** Hard deadline after which every swarm exits on its own. */
  maxSeconds: number;
}

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

  constructor(readonly opts: FleetOptions) {
    if (!isLoopbackV4(opts.host)) throw new Error(`refusing to load ${opts.host}: only 127.0.0.0/8 is allowed`);
    const n = Math.max(1, Math.ceil(opts.viewers / opts.perSwarm));
    if (opts.sourceBase + n > 254) throw new Error(`too many swarms (${n}) for source base ${opts.sourceBase}`);
    this.sideAddress = `127.0.0.${opts.sourceBase + n}`;
  }

  /** Forks the swarms; they start connecting at once. */
  start(): void {
    const { viewers, perSwarm } = this.opts;
    const n = Math.max(1, Math.ceil(viewers / perSwarm));
    const script = fileURLToPath(new URL('./sse-swarm.js', import.meta.url));
    let offset = 0;
    for (let k = 0; k < n; k++) {
      const count = Math.floor(viewers / n) + (k < viewers % n ? 1 : 0);
      const address = `127.0.0.${this.opts.sourceBase + k}`;
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
    await Promise.all(stopped);
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
    return this.totals();
  }

  /** Last-resort synchronous kill, for exit handlers. */
  kill(): void {
    for (const m of this.members) if (!m.exited) m.child.kill('SIGKILL');
  }
}
