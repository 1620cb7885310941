// The workers' lifecycle: fork them, respawn one that dies (unless it keeps dying), and stop them all
// within a deadline on shutdown.
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { PrimaryMessage } from '../protocol/ipc.js';
import { debugFor, logError } from '../log.js';

const debug = debugFor('workers');
const WORKER_ENTRY = fileURLToPath(new URL('../worker/main.js', import.meta.url));
/** More deaths than this within CRASH_WINDOW_MS means respawning will not help. */
const MAX_CRASHES = 10;
/**
 * V8 grows its young generation up to 16 MB × 3 per process under allocation bursts and keeps it; for a
 * process that mostly holds idle sockets that was half of the memory per viewer (BENCHMARKS.md). A small
 * young generation costs a few more, cheaper scavenges.
 */
const WORKER_V8_FLAGS = ['--max-semi-space-size=1'];
const CRASH_WINDOW_MS = 10_000;

export interface WorkerPoolEvents {
  message(workerId: number, raw: unknown): void;
  /** Called once per worker that exits, before any respawn. */
  exit(workerId: number): void;
  /** Respawning stopped: workers die faster than they start. */
  crashLoop(): void;
}

export class WorkerPool {
  private readonly workers = new Map<number, Worker>();
  /** Each live worker's slot, 1..size: a respawned worker takes its predecessor's, so per-worker figures keep their label. */
  private readonly slotOf = new Map<number, number>();
  private readonly recentCrashes: number[] = [];
  private stopping = false;

  constructor(
    private readonly size: number,
    private readonly env: Record<string, string>,
    private readonly events: WorkerPoolEvents,
  ) {
    // Workers accept from the shared listening socket themselves. Node's default on Linux hands every
    // connection from the primary to a worker over IPC, which halved the accept rate in a flash crowd
    // (BENCHMARKS.md; 2.x's bottleneck too). Nothing relies on the hand-off's order or evenness: expulsions
    // reach every worker before the expelled stream ends (expulsions.ts). NODE_CLUSTER_SCHED_POLICY=rr in
    // the environment brings the hand-off back.
    if (!process.env.NODE_CLUSTER_SCHED_POLICY) cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: WORKER_ENTRY, args: [], execArgv: [...WORKER_V8_FLAGS, ...process.execArgv], silent: false });
  }

  start(): void {
    for (let slot = 1; slot <= this.size; slot++) this.fork(slot);
  }

  ids(): number[] {
    return [...this.workers.keys()];
  }

  /** The slot of each live worker id. */
  slots(): ReadonlyMap<number, number> {
    return this.slotOf;
  }

  /** false when that worker is gone (or going): nothing was sent. */
  send(workerId: number, message: PrimaryMessage): boolean {
    const worker = this.workers.get(workerId);
    if (!worker?.isConnected()) return false;
    worker.send(message);
    return true;
  }

  broadcast(message: PrimaryMessage, exceptWorkerId?: number): void {
    for (const [id, worker] of this.workers) {
      if (id !== exceptWorkerId && worker.isConnected()) worker.send(message);
    }
  }

  /** Asks every worker to end its streams and exit; kills the ones still there after `deadlineMs`. */
  async stop(deadlineMs: number): Promise<void> {
    this.stopping = true;
    const exits = [...this.workers.values()].map((worker) => new Promise<void>((resolve) => {
      if (worker.isDead()) return resolve();
      worker.once('exit', () => resolve());
    }));
    this.broadcast({ type: 'shutdown' });
    const timer = setTimeout(() => {
      for (const worker of this.workers.values()) {
        if (!worker.isDead()) {
          logError(`worker ${worker.id} (pid ${worker.process.pid}) did not stop in time; killing it`);
          worker.process.kill('SIGKILL');
        }
      }
    }, deadlineMs);
    await Promise.all(exits);
    clearTimeout(timer);
  }

  private fork(slot: number): void {
    const worker = cluster.fork(this.env);
    this.workers.set(worker.id, worker);
    this.slotOf.set(worker.id, slot);
    debug('worker %d forked (pid %d)', worker.id, worker.process.pid);
    worker.on('message', (raw: unknown) => {
      // A message still in flight from a worker already written off must not resurrect its counts.
      if (this.workers.has(worker.id)) this.events.message(worker.id, raw);
    });
    // An IPC error (a worker that died mid-send) must not take the primary down.
    worker.on('error', (error: Error) => debug('worker %d IPC error: %s', worker.id, error.message));
    worker.once('exit', (code: number | null, signal: string | null) => this.onExit(worker, code, signal));
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    const slot = this.slotOf.get(worker.id)!;
    this.workers.delete(worker.id);
    this.slotOf.delete(worker.id);
    this.events.exit(worker.id);
    if (this.stopping) {
      debug('worker %d stopped', worker.id);
      return;
    }
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    const now = Date.now();
    this.recentCrashes.push(now);
    while (this.recentCrashes.length > 0 && now - this.recentCrashes[0]! > CRASH_WINDOW_MS) this.recentCrashes.shift();
    if (this.recentCrashes.length > MAX_CRASHES) {
      logError(`worker ${worker.id} (pid ${worker.process.pid}) died (${how}); ${MAX_CRASHES} deaths in ${CRASH_WINDOW_MS / 1000} s, not respawning`);
      this.events.crashLoop();
      return;
    }
    logError(`worker ${worker.id} (pid ${worker.process.pid}) died (${how}); respawning`);
    this.fork(slot);
  }
}
