// Open files are a worker's hard ceiling. Warn the operator at 80 % (once, re-armed below 70 %), so they add
// workers or raise `ulimit -n` before it bites; and stop taking new connections just short of it.
//
// Why stop: workers accept from one shared socket (worker-pool.ts, SCHED_NONE), and the kernel gives each
// connection to whichever worker asks first, not evenly: a flash crowd of 33,000 left one of two workers at
// 19,000 of its 20,000 files and the other at 14,000. At the limit a worker's accept fails, and libuv then
// accepts and closes whatever waits in the backlog to get out of the loop: those viewers see resets while
// the other workers still have room. A worker near its limit therefore closes its copy of the listening
// socket, so the others take the crowd, and listens again once enough of its viewers have left. When every
// worker of the node is full, the port is closed (the primary's shared socket goes with the last copy) and
// new viewers are refused at once, which a browser retries and a load balancer sees.
import { logInfo, logWarning } from '../log.js';

const WARN_RATIO = 0.8;
const REARM_RATIO = 0.7;
/** Files a worker holds besides its viewers' sockets: node itself, IPC, the listening socket. */
const BASELINE_FILES = 32;
/**
 * Files kept free when the worker stops accepting: connections accepted between two checks (see
 * ACCEPTS_PER_CHECK), and files the worker opens for other reasons. It accepts again once twice as many are free.
 */
const MIN_HEADROOM = 32;
const HEADROOM_RATIO = 0.02;
/** Connections accepted between two checks of the count; far fewer than the headroom. */
export const ACCEPTS_PER_CHECK = 16;

/** What the watch does to the public port. */
export interface AcceptControl {
  /** Stop accepting new connections; the open ones stay. */
  pause(): void;
  resume(): void;
}

export class OpenFileWatch {
  private warned = false;
  private paused = false;
  private readonly headroom: number;

  constructor(
    private readonly workerId: number,
    private readonly limit: number | undefined,
    private readonly accept: AcceptControl,
  ) {
    this.headroom = limit === undefined ? 0 : Math.max(MIN_HEADROOM, Math.ceil(limit * HEADROOM_RATIO));
  }

  get accepting(): boolean {
    return !this.paused;
  }

  /** Called with the worker's open connection count: once a second, and every ACCEPTS_PER_CHECK accepts. */
  check(connections: number): void {
    if (this.limit === undefined) return;
    const used = connections + BASELINE_FILES;
    const ratio = used / this.limit;
    if (!this.warned && ratio >= WARN_RATIO) {
      this.warned = true;
      logWarning(`worker ${this.workerId} holds ${connections} connections, ${Math.round(ratio * 100)}% of its ${this.limit} open files; add workers (--workers) or raise ulimit -n`);
    } else if (this.warned && ratio < REARM_RATIO) {
      this.warned = false;
    }
    const free = this.limit - used;
    if (!this.paused && free <= this.headroom) {
      this.paused = true;
      logWarning(`worker ${this.workerId} stopped accepting viewers at ${connections} connections (open-file limit ${this.limit}); the other workers take them`);
      this.accept.pause();
    } else if (this.paused && free >= 2 * this.headroom) {
      this.paused = false;
      logInfo(`worker ${this.workerId} accepts viewers again (${connections} connections)`);
      this.accept.resume();
    }
  }
}
