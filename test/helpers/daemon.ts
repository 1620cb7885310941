// Starts the real daemon the way a user does (bin/audience-meter) on free ports, and talks to it over
// real sockets.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../../bin/audience-meter', import.meta.url));

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Daemon {
  process: ChildProcess;
  port: number;
  statsPort: number;
  notificationPort: number;
  demoPort: number;
  /** Everything the daemon wrote to stderr so far. */
  stderr(): string;
  stats(): Promise<Record<string, { created: number; connections: number; members: number; modified: number }>>;
  workerPids(): number[];
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

/**
 * The primary's hand-off (README: NODE_CLUSTER_SCHED_POLICY=rr) makes connections alternate between the
 * workers, so a test about what crosses workers covers two of them for sure; by default the kernel picks.
 */
export const ALTERNATE_WORKERS: Record<string, string> = { NODE_CLUSTER_SCHED_POLICY: 'rr' };

export interface StartOptions {
  workers?: number;
  demo?: boolean;
  env?: Record<string, string>;
  /** Reuses these ports, e.g. to restart a daemon as the same cluster node. */
  ports?: Pick<Daemon, 'port' | 'statsPort' | 'notificationPort' | 'demoPort'>;
  /** Runs the daemon under `ulimit -n <fileLimit>`. */
  fileLimit?: number;
}

/** Starts the daemon with small delays suited to tests, plus `args`, and waits until every worker listens. */
export async function startDaemon(args: string[] = [], { workers = 2, demo = false, env = {}, ports, fileLimit }: StartOptions = {}): Promise<Daemon> {
  const [port, statsPort, notificationPort, demoPort] = ports
    ? [ports.port, ports.statsPort, ports.notificationPort, ports.demoPort]
    : await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const command = [process.execPath,
    BIN, '--port', String(port), '--host', '127.0.0.1', '--stats-port', String(statsPort),
    '--notification-port', String(notificationPort), '--demo-port', demo ? String(demoPort) : '0',
    '--workers', String(workers),
    // No test writes ./audience-meter.db in the working tree: the attendance log is off unless a test asks.
    ...(args.includes('--attendance') ? [] : ['--attendance', 'off']), ...args,
  ];
  // `exec` keeps the daemon's pid the child's pid, so signals and process checks still reach it.
  const [file, ...argv] = fileLimit === undefined ? command : ['/bin/sh', '-c', `ulimit -n ${fileLimit} && exec "$@"`, 'sh', ...command];
  const child = spawn(file!, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // A daemon must never keep a test file alive (a failed `before` never reaches its `after`), nor outlive it.
  running.add(child);
  child.once('exit', () => running.delete(child));
  child.unref();
  (child.stdout as Socket).unref();
  (child.stderr as Socket).unref();
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const daemon: Daemon = {
    process: child,
    port,
    statsPort,
    notificationPort,
    demoPort,
    stderr: () => stderr,
    stats: () => readStats(statsPort),
    workerPids: () => childPids(child.pid!),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      child.ref();
      return exited;
    },
    /** Awaiting the exit keeps this process alive until it comes (the child is otherwise unref'd). */
    get exited() {
      child.ref();
      return exited;
    },
  };
  await waitFor(() => /listening on/.test(stderr) || child.exitCode !== null, 10_000, 'the daemon to listen');
  if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}: ${stderr}`);
  return daemon;
}

export function readStats(port: number): Promise<Record<string, { created: number; connections: number; members: number; modified: number }>> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => { text += chunk; });
    socket.on('error', reject);
    socket.on('end', () => {
      try {
        resolve(JSON.parse(text));
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** Members of `ns` in the stats dump (0 when the namespace is absent). */
export async function members(daemon: Daemon, ns: string): Promise<number> {
  return (await daemon.stats())[ns]?.members ?? 0;
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** Waits until the stats show `expected` members in `ns`. */
export async function waitForMembers(daemon: Daemon, ns: string, expected: number, timeoutMs = 5000): Promise<void> {
  let last = -1;
  try {
    await waitFor(async () => (last = await members(daemon, ns)) === expected, timeoutMs, `${expected} members in ${ns}`);
  } catch (error) {
    throw new Error(`${(error as Error).message} (last seen: ${last})`);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function childPids(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return children === '' ? [] : children.split(/\s+/).map(Number);
  } catch {
    return [];
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface StartedCommand {
  stderr(): string;
  /** Sends SIGTERM and waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Runs an audience-meter command exactly as given (no ports or options added, unlike startDaemon): the
 * README's quick start, an installed package, the systemd unit's environment. Resolves once it listens;
 * throws with its stderr when it exits instead.
 */
export async function runCommand(file: string, args: string[], { cwd, env }: { cwd: string; env?: Record<string, string> }): Promise<StartedCommand> {
  const child = spawn(file, args, { cwd, env: env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => { running.delete(child); resolve(); }));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const started: StartedCommand = {
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  try {
    await waitFor(() => /listening on/.test(stderr) || child.exitCode !== null, 20_000, `${file} to listen`);
  } catch (error) {
    await started.stop();
    throw error;
  }
  if (child.exitCode !== null) throw new Error(`${file} exited with ${child.exitCode}: ${stderr}`);
  return started;
}
