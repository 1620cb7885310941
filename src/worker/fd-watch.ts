// Open files are a worker's hard ceiling: past the limit, new viewers are refused by the kernel. Warn the
// operator at 80 % (once, re-armed below 70 %), so they add workers or raise `ulimit -n` before it bites.
import { logWarning } from '../log.js';

const WARN_RATIO = 0.8;
const REARM_RATIO = 0.7;
/** Files a worker holds besides its viewers' sockets: node itself, IPC, the listening socket. */
const BASELINE_FILES = 32;

export class OpenFileWatch {
  private warned = false;

  constructor(private readonly workerId: number, private readonly limit: number | undefined) {}

  /** Called with the worker's open connection count, once per check. */
  check(connections: number): void {
    if (this.limit === undefined) return;
    const used = (connections + BASELINE_FILES) / this.limit;
    if (!this.warned && used >= WARN_RATIO) {
      this.warned = true;
      logWarning(`worker ${this.workerId} holds ${connections} connections, ${Math.round(used * 100)}% of its ${this.limit} open files; add workers (--workers) or raise ulimit -n`);
    } else if (this.warned && used < REARM_RATIO) {
      this.warned = false;
    }
  }
}
