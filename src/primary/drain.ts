// The drain on SIGTERM (or SIGINT) with --drain-seconds (docs/load-balancers.md), for rolling deploys behind
// a load balancer: the node stops being ready at once, waits the first quarter of the window for the
// balancers to notice (probe period × failures), then has its workers end their streams evenly over the
// other three quarters, each with a `retry:` so browsers come back through the balancer to the other
// nodes. Only then does the usual stop run: the goodbye to the cluster, the workers' exit, the attendance
// exits. A second signal cuts the drain short and stops at once.
import type { PrimaryMessage } from '../protocol/ipc.js';

/** Share of the window given to the balancers to notice that /readyz answers 503. */
export const NOTICE_SHARE = 0.25;
/** How long a drained browser waits before reconnecting (each worker jitters it by ±50 % per tick). */
export const DRAIN_RETRY_MS = 1000;

export interface DrainPlan {
  /** From the signal until the streams begin to end. */
  noticeMs: number;
  /** Over which the streams end, a share at a time. */
  spreadMs: number;
}

export function planDrain(drainSeconds: number): DrainPlan {
  const windowMs = Math.round(drainSeconds * 1000);
  const noticeMs = Math.round(windowMs * NOTICE_SHARE);
  return { noticeMs, spreadMs: windowMs - noticeMs };
}

export interface DrainSteps {
  /** Readiness off: /readyz answers 503 from now on. */
  unready(): void;
  /** Sent to every worker once the notice is over. */
  broadcast(message: DrainMessage): void;
  /** The window is over (or cut short): the usual stop. */
  stop(): void;
}

type DrainMessage = Extract<PrimaryMessage, { type: 'drain' }>;

export class Drain {
  private readonly timers: NodeJS.Timeout[] = [];
  private started = false;
  /** When the spread ends, once it has begun (ms since epoch). */
  private spreadEndsAt: number | undefined;

  constructor(private readonly plan: DrainPlan, private readonly steps: DrainSteps) {}

  get running(): boolean {
    return this.started;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const { noticeMs, spreadMs } = this.plan;
    this.steps.unready();
    this.timers.push(setTimeout(() => {
      this.spreadEndsAt = Date.now() + spreadMs;
      this.steps.broadcast(this.message()!);
      this.timers.push(setTimeout(() => this.finish(), spreadMs));
    }, noticeMs));
  }

  /** What a worker that (re)starts during the spread must do: end its streams in what is left of it. */
  message(): DrainMessage | undefined {
    if (this.spreadEndsAt === undefined) return undefined;
    return { type: 'drain', ms: Math.max(0, this.spreadEndsAt - Date.now()), retryMs: DRAIN_RETRY_MS };
  }

  /** Stops at once: the second signal, or the end of the window. */
  finish(): void {
    this.cancel();
    this.steps.stop();
  }

  /** Forgets what is still to come (the node stops for another reason). */
  cancel(): void {
    for (const timer of this.timers) clearTimeout(timer);
  }
}
