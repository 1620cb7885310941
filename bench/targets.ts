// The servers a benchmark runs against, started and stopped the same way: audience-meter as a user runs
// it (only ports, host and worker count given), or nginx with the nchan module from Debian's packages,
// configured in a temp dir as the nearest equivalent (one eventsource or websocket channel per namespace, a
// publisher location for messages), or the bare-Node floor. Loopback only; all end with the benchmark.

import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type NotifyOutcome, canConnect, freePorts, httpRequest, notifyAll, readStats, sleep } from './daemon-io.js';
import { processTree } from './proc-mem.js';
import type { Transport } from './swarm-fleet.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url)); // dist/bench/ → repo
export const HOST = '127.0.0.1';

export interface StopOutcome {
  ms: number;
  code: number | null;
  signal: string | null;
}

export interface Target {
  readonly kind: 'audience-meter' | 'nchan' | 'bare';
  /** e.g. "audience-meter, 2 workers". */
  readonly label: string;
  readonly host: string;
  /** Where viewers open `GET /{namespace}` with `Accept: text/event-stream`, or upgrade it to a WebSocket. */
  readonly port: number;
  /** Root of the server's process tree (the primary, or nginx's master). */
  readonly pid: number;
  readonly workers: number;
  /** audience-meter only. */
  readonly statsPort?: number;
  readonly notificationPort?: number;
  /** The last 40 lines the server wrote (stdout and stderr). */
  readonly tail: string[];
  /** Every line the server wrote, up to 20,000. */
  readonly log: string[];
  readonly child: ChildProcess;
  /** The server's working directory: a temp dir of its own, removed by stop(). */
  readonly dir: string;
  /** Sends `data: {service}={message}` to every viewer of each namespace, all namespaces at once. */
  publish(namespaces: string[], service: string, message: string, localAddress?: string): Promise<NotifyOutcome[]>;
  /** Whatever must exist before viewers come (nchan: the message a new subscriber gets first). */
  prepare(namespaces: string[]): Promise<void>;
  isExited(): boolean;
  /** Stops the server (SIGTERM, then SIGKILL to its whole tree after 15 s) and cleans up. */
  stop(): Promise<StopOutcome>;
}

/**
 * Starts `node <bin> --host … --port … --stats-port … --notification-port … --demo-port 0 --workers N` in a
 * temp dir of its own (its working directory: the default attendance log, ./audience-meter.db, lands there
 * and goes with it, never in the checkout).
 */
export async function startAudienceMeter(opts: {
  bin?: string;
  workers: number;
  extra?: string[];
  /** Flags for node itself (e.g. --cpu-prof); the workers inherit them. */
  nodeArgs?: string[];
  /** Extra environment, KEY=VALUE (experiments only, e.g. NODE_CLUSTER_SCHED_POLICY=none). */
  env?: string[];
  logPath?: string;
  readyTimeoutMs?: number;
  /** The ports of a daemon this one replaces (a restart); fresh free ports otherwise. */
  ports?: { port: number; statsPort: number; notificationPort: number };
}): Promise<Target> {
  const bin = fileURLToPath(new URL(opts.bin ?? 'bin/audience-meter', pathToFileURL(repoRoot)));
  const [port, statsPort, notificationPort] = opts.ports
    ? [opts.ports.port, opts.ports.statsPort, opts.ports.notificationPort]
    : await freePorts(3);
  const args = [
    ...(opts.nodeArgs ?? []),
    bin,
    '--host', HOST,
    '--port', String(port),
    '--stats-port', String(statsPort),
    '--notification-port', String(notificationPort),
    '--demo-port', '0',
    '--workers', String(opts.workers),
    ...(opts.extra ?? []),
  ];
  const env = { ...process.env };
  for (const kv of opts.env ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`--daemon-env wants KEY=VALUE, got ${kv}`);
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const target = launch({
    kind: 'audience-meter',
    label: `audience-meter, ${opts.workers} worker${opts.workers === 1 ? '' : 's'}${(opts.env ?? []).length > 0 ? ` (${opts.env!.join(' ')})` : ''}`,
    file: process.execPath,
    args,
    env,
    logPath: opts.logPath,
    commandLine: `${(opts.env ?? []).join(' ')} node ${args.join(' ')}`.trim(),
    port,
    workers: opts.workers,
    statsPort,
    notificationPort,
    publish: (namespaces, service, message, localAddress) => notifyAll(HOST, notificationPort, namespaces, service, message, localAddress),
  });
  await waitReady(target, opts.readyTimeoutMs ?? 30_000, async () =>
    (await canConnect(HOST, port)) && (await readStats(HOST, statsPort).then(() => true, () => false)));
  return target;
}

/** Starts the calibration server (bench/bare-sse-server.ts): Node.js processes doing the least work per viewer. */
export async function startBare(opts: { logPath?: string; nodeArgs?: string[]; transport?: Transport } = {}): Promise<Target> {
  const script = fileURLToPath(new URL('./bare-sse-server.js', import.meta.url));
  const [port, controlPort] = await freePorts(2);
  const transport = opts.transport ?? 'sse';
  const args = [...(opts.nodeArgs ?? []), script, '--port', String(port), '--control-port', String(controlPort), '--transport', transport];
  const target = launch({
    kind: 'bare',
    label: `bare Node.js server, 2 processes (calibration${transport === 'ws' ? ', WebSocket' : ''})`,
    file: process.execPath,
    args,
    logPath: opts.logPath,
    commandLine: `node ${args.join(' ')}`,
    port,
    workers: 2,
    publish: (namespaces, service, message, localAddress) => notifyAll(HOST, controlPort, namespaces, service, message, localAddress),
  });
  await waitReady(target, 10_000, async () => (await canConnect(HOST, port)) && (await canConnect(HOST, controlPort)));
  return target;
}

export const NCHAN_MODULE = '/usr/lib/nginx/modules/ngx_nchan_module.so';
export const NCHAN_INSTALL = 'apt-get update && apt-get install -y nginx-light libnginx-mod-nchan';

/** Where nginx is, and what is missing for the comparison (empty when nothing). */
export function nchanAvailability(): { nginx: string | undefined; missing: string[] } {
  const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
  const missing: string[] = [];
  if (!nginx) missing.push('nginx (package nginx-light)');
  if (!existsSync(NCHAN_MODULE)) missing.push(`${NCHAN_MODULE} (package libnginx-mod-nchan)`);
  return { nginx, missing };
}

/**
 * The nginx configuration: `workers` processes, each allowed 20,000 open files like the daemon's workers,
 * the same listen backlog as the daemon (4096), no access log. Subscribers: `GET /{channel}` with
 * `Accept: text/event-stream` (`nchan_subscriber eventsource`), or a WebSocket upgrade of it with `transport`
 * ws (`nchan_subscriber websocket`: each message one text frame, as published; no pings, nchan's default); a
 * new subscriber first gets the newest stored message, as a new viewer of audience-meter first gets the count.
 * Publisher: `POST /{channel}` on a second loopback port.
 */
export function nchanConfig(dir: string, port: number, publishPort: number, workers: number, reuseport: boolean, transport: Transport = 'sse'): string {
  return `# written by bench/targets.ts for one benchmark run
load_module ${NCHAN_MODULE};
daemon off;
master_process on;
worker_processes ${workers};
worker_rlimit_nofile 20000;
pid ${dir}/nginx.pid;
error_log stderr notice;
events {
  worker_connections 19900;
}
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen ${HOST}:${port} backlog=4096${reuseport ? ' reuseport' : ''};
    location ~ ^/(?<channel>[^/]+)$ {
      nchan_subscriber ${transport === 'ws' ? 'websocket' : 'eventsource'};
      nchan_channel_id $channel;
      nchan_subscriber_first_message -1;
    }
  }
  server {
    listen ${HOST}:${publishPort};
    location ~ ^/(?<channel>[^/]+)$ {
      nchan_publisher;
      nchan_channel_id $channel;
    }
  }
}
`;
}

/** Starts nginx + nchan with its own config in a temp dir (`nginx -c <conf> -p <dir>`), in the foreground. */
export async function startNchan(opts: { workers: number; reuseport?: boolean; logPath?: string; readyTimeoutMs?: number; transport?: Transport }): Promise<Target> {
  const { nginx, missing } = nchanAvailability();
  if (!nginx || missing.length > 0) throw new Error(`missing ${missing.join(', ')}; install with: ${NCHAN_INSTALL}`);
  const dir = mkdtempSync(join(tmpdir(), 'nchan-bench-'));
  const [port, publishPort] = await freePorts(2);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nchanConfig(dir, port, publishPort, opts.workers, opts.reuseport ?? false, opts.transport));
  const args = ['-c', conf, '-p', dir];
  const target = launch({
    kind: 'nchan',
    label: `nginx + nchan, ${opts.workers} worker${opts.workers === 1 ? '' : 's'}${opts.reuseport ? ' (reuseport)' : ''}`,
    file: nginx,
    args,
    dir,
    logPath: opts.logPath,
    commandLine: `${nginx} ${args.join(' ')}`,
    port,
    workers: opts.workers,
    publish: (namespaces, service, message, localAddress) =>
      Promise.all(namespaces.map((ns) => publishNchan(publishPort, ns, `${service}=${message}`, localAddress))),
    async prepare(namespaces) {
      const outcomes = await Promise.all(namespaces.map((ns) => publishNchan(publishPort, ns, '0')));
      const bad = outcomes.filter((o) => typeof o.status !== 'number' || o.status >= 300);
      if (bad.length > 0) throw new Error(`nchan publish failed: ${JSON.stringify(bad)}`);
    },
  });
  await waitReady(target, opts.readyTimeoutMs ?? 15_000, async () =>
    (await canConnect(HOST, port)) && (await canConnect(HOST, publishPort)));
  return target;
}

/** POST /{channel} to the nchan publisher; nchan answers 201 or 202. */
async function publishNchan(port: number, ns: string, body: string, localAddress?: string): Promise<NotifyOutcome> {
  const a = await httpRequest({ host: HOST, port, method: 'POST', path: `/${encodeURIComponent(ns)}`, text: body, localAddress });
  return { namespace: ns, status: a.status, ms: a.ms };
}

/** True for the answers that mean "sent": 200 from audience-meter, 201/202 from nchan. */
export function publishOk(o: NotifyOutcome): boolean {
  return typeof o.status === 'number' && o.status >= 200 && o.status < 300;
}

/**
 * Spawns a server in `dir` (or a fresh temp dir) as its working directory, captures its output, and
 * makes sure it ends with us: stop() removes the dir, and if this process exits first (an error, the
 * deadline, Ctrl-C through runMain) its whole tree is killed.
 */
function launch(o: {
  kind: Target['kind'];
  label: string;
  file: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  dir?: string;
  logPath?: string;
  commandLine: string;
  port: number;
  workers: number;
  statsPort?: number;
  notificationPort?: number;
  publish: Target['publish'];
  prepare?: Target['prepare'];
}): Target {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), `${o.kind}-bench-`));
  const child = spawn(o.file, o.args, { cwd: dir, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = capture(child, o.logPath, `(cd ${dir}) ${o.commandLine}`);
  if (child.pid === undefined) throw new Error(`could not spawn ${o.file}`);
  const pid = child.pid;
  const killOnExit = () => {
    killTree(pid);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);
  return {
    kind: o.kind,
    label: o.label,
    host: HOST,
    port: o.port,
    pid,
    workers: o.workers,
    statsPort: o.statsPort,
    notificationPort: o.notificationPort,
    tail: out.tail,
    log: out.log,
    child,
    dir,
    publish: o.publish,
    prepare: o.prepare ?? (async () => {}),
    isExited: out.isExited,
    async stop() {
      const r = await stopTree(child, out.exited, out.isExited);
      process.off('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
      return r;
    },
  };
}

interface Captured {
  tail: string[];
  log: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isExited: () => boolean;
}

function capture(child: ChildProcess, logPath: string | undefined, commandLine: string): Captured {
  const tail: string[] = [];
  const log: string[] = [];
  const file = logPath ? createWriteStream(logPath, { flags: 'a' }) : undefined;
  file?.write(`---- ${new Date().toISOString()} ${commandLine}\n`);
  const keep = (chunk: Buffer) => {
    file?.write(chunk);
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      tail.push(line);
      if (tail.length > 40) tail.shift();
      if (log.length < 20_000) log.push(line);
    }
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited = false;
  const exitPromise = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true;
      file?.end();
      resolve({ code, signal });
    }),
  );
  return { tail, log, exited: exitPromise, isExited: () => exited };
}

/** Waits until `up()` and all worker processes exist, then lets start-up allocations settle. */
async function waitReady(t: Target, timeoutMs: number, up: () => Promise<boolean>): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (t.isExited()) throw new Error(`${t.label} exited during start-up:\n${t.tail.join('\n')}`);
    if ((await up()) && processTree(t.pid).length >= t.workers + 1) break;
    if (Date.now() - start > timeoutMs) {
      killTree(t.pid);
      await t.stop();
      throw new Error(`${t.label} not ready within ${timeoutMs} ms:\n${t.tail.join('\n')}`);
    }
    await sleep(200);
  }
  await sleep(2000);
}

export function killTree(pid: number): void {
  for (const p of processTree(pid)) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

async function stopTree(
  child: ChildProcess,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  isExited: () => boolean,
): Promise<StopOutcome> {
  const start = Date.now();
  const tree = child.pid === undefined ? [] : processTree(child.pid);
  if (!isExited()) child.kill('SIGTERM');
  let r = await Promise.race([exited, sleep(15_000).then(() => undefined)]);
  if (r === undefined) {
    for (const pid of tree) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    r = await exited;
  }
  // Workers must not outlive their parent.
  for (const pid of tree.slice(1)) {
    try {
      process.kill(pid, 0);
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone, as it should be */
    }
  }
  return { ms: Date.now() - start, code: r.code, signal: r.signal };
}
