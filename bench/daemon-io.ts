// Small clients for the daemon's side ports, used by the benchmarks: notification GETs, the stats
// dump, free-port discovery and readiness polling. Loopback only.

import http from 'node:http';
import net from 'node:net';

export interface NotifyOutcome {
  namespace: string;
  status: number | string;
  ms: number;
}

/**
 * GET /{ns}/{service}/{message} on the notification port for every namespace at once, from
 * `localAddress` when given (a source address of its own keeps these requests clear of the local
 * ports held by the viewers' sockets).
 */
export function notifyAll(
  host: string,
  port: number,
  namespaces: string[],
  service: string,
  message: string,
  localAddress?: string,
): Promise<NotifyOutcome[]> {
  return Promise.all(
    namespaces.map(async (ns) => {
      const path = `/${encodeURIComponent(ns)}/${encodeURIComponent(service)}/${encodeURIComponent(message)}`;
      const a = await httpRequest({ host, port, method: 'GET', path, localAddress });
      return { namespace: ns, status: a.status, ms: a.ms };
    }),
  );
}

export interface NamespaceStats {
  created?: number;
  connections?: number;
  members?: number;
  modified?: number;
  [field: string]: unknown;
}

/** Connects to the stats port, reads until the daemon closes, parses the JSON object. */
export function readStats(host: string, port: number, timeoutMs = 5_000, localAddress?: string): Promise<Record<string, NamespaceStats>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect({ host, port, localAddress });
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error(`stats port ${port}: no close within ${timeoutMs} ms`)));
    sock.on('data', (b) => chunks.push(b));
    sock.on('error', reject);
    sock.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(JSON.parse(text) as Record<string, NamespaceStats>);
      } catch {
        reject(new Error(`stats port ${port}: not JSON: ${JSON.stringify(text.slice(0, 200))}`));
      }
    });
  });
}

/** Finds `n` distinct free TCP ports on 127.0.0.1 by binding port 0 (all held until all are known). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let k = 0; k < n; k++) {
      const srv = net.createServer();
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve());
      });
      servers.push(srv);
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/** True when a TCP connection to host:port succeeds within timeoutMs. */
export function canConnect(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls the stats port every `intervalMs` (each poll waits for the last) and keeps, per answer, when it
 * came and whether `exact` held for it; a poll that fails counts as not exact.
 */
export class StatsWatch {
  readonly polls: Array<[at: number, exact: boolean]> = [];
  last: Record<string, NamespaceStats> | undefined;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly exact: (stats: Record<string, NamespaceStats>) => boolean,
    private readonly localAddress?: string,
    private readonly intervalMs = 50,
  ) {}

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const t = Date.now();
        try {
          this.last = await readStats(this.host, this.port, 2_000, this.localAddress);
          this.polls.push([Date.now(), this.exact(this.last)]);
        } catch {
          this.polls.push([Date.now(), false]);
        }
        const wait = this.intervalMs - (Date.now() - t);
        if (wait > 0) await sleep(wait);
      }
    })();
  }

  /** Keeps polling until the latest answer is exact or `timeoutMs` has passed, then stops. */
  async untilExact(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until && !this.polls.at(-1)?.[1]) await sleep(this.intervalMs);
    await this.stop();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** When the first exact answer came after which no later answer was wrong (epoch ms), or null. */
  exactSince(): number | null {
    let at: number | null = null;
    for (const [t, exact] of this.polls) {
      if (exact && at === null) at = t;
      if (!exact) at = null;
    }
    return at;
  }
}

/** Whether every namespace of `expect` has exactly that many members. */
export function membersExact(stats: Record<string, NamespaceStats>, expect: Record<string, number>): boolean {
  return Object.entries(expect).every(([ns, want]) => stats[ns]?.members === want);
}

export interface StatsCheck {
  ok: boolean;
  members: number;
  expected: number;
  mismatches: string[];
  error?: string;
}

/** Reads the stats once and compares every namespace's members with `expect`. */
export async function checkStats(host: string, port: number, expect: Record<string, number>, localAddress?: string): Promise<StatsCheck> {
  const expected = Object.values(expect).reduce((a, b) => a + b, 0);
  try {
    const s = await readStats(host, port, 5_000, localAddress);
    const mismatches: string[] = [];
    let members = 0;
    for (const [ns, want] of Object.entries(expect)) {
      const got = s[ns]?.members;
      members += typeof got === 'number' ? got : 0;
      if (got !== want) mismatches.push(`${ns}: members ${String(got)}, expected ${want}`);
    }
    return { ok: mismatches.length === 0, members, expected, mismatches };
  } catch (err) {
    return { ok: false, members: 0, expected, mismatches: [], error: (err as Error).message };
  }
}

export interface HttpAnswer {
  status: number | string;
  body: string;
  /** Request sent → answer read to its end. */
  ms: number;
}

/** One request on a connection of its own (no keep-alive), with a JSON (`json`) or plain-text (`text`) body. */
export function httpRequest(o: {
  host: string;
  port: number;
  method: 'GET' | 'POST';
  path: string;
  json?: unknown;
  text?: string;
  localAddress?: string;
  timeoutMs?: number;
}): Promise<HttpAnswer> {
  const body = o.json !== undefined ? JSON.stringify(o.json) : o.text;
  return new Promise((resolve) => {
    const start = performance.now();
    const headers: Record<string, string | number> =
      body === undefined ? {} : { 'Content-Type': o.json !== undefined ? 'application/json' : 'text/plain', 'Content-Length': Buffer.byteLength(body) };
    const req = http.request(
      { host: o.host, port: o.port, localAddress: o.localAddress, path: o.path, method: o.method, agent: false, timeout: o.timeoutMs ?? 10_000, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - start }));
        res.on('error', (err) => resolve({ status: err.message, body: '', ms: performance.now() - start }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: err.code ?? err.message, body: '', ms: performance.now() - start }));
    req.end(body);
  });
}

/** GET /metrics on the admin port: every unlabelled series, name → value (the figures a scenario reports). */
export async function readMetrics(host: string, port: number, localAddress?: string, timeoutMs?: number): Promise<Map<string, number>> {
  const answer = await httpRequest({ host, port, method: 'GET', path: '/metrics', localAddress, timeoutMs });
  if (answer.status !== 200) throw new Error(`/metrics answered ${answer.status}`);
  const values = new Map<string, number>();
  for (const line of answer.body.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)$/.exec(line);
    if (m) values.set(m[1]!, Number(m[2]));
  }
  return values;
}
