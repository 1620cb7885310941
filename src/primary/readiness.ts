// Whether this node is ready to take viewers, which GET /readyz answers on every worker (docs/load-balancers.md):
// every worker listens, the cluster transport has joined its cluster (or the node is knowingly alone), and the
// node is not draining. The verdict is pushed to the workers when it changes, so a probe costs them nothing.
import type { PrimaryMessage } from '../protocol/ipc.js';

export type ReadinessMessage = Extract<PrimaryMessage, { type: 'readiness' }>;

export const STARTING_REASON = 'starting: not every worker listens yet';
export const NOT_JOINED_REASON = 'not joined to the cluster yet';
export const DRAINING_REASON = 'draining: this node is stopping';

export class Readiness {
  private listening = false;
  private draining = false;
  /**
   * Joined once is joined for good: an engine outage later (Redis down) hits every node at once, and a
   * balancer that saw every node unready would refuse every viewer, while each node can still count its own.
   */
  private joined = false;
  private told: ReadinessMessage | undefined;

  constructor(
    /** The cluster seam's `isJoined()`: asked at each check until it is true, as a transport may join late. */
    private readonly isJoined: () => boolean,
    /** Sends the verdict to every worker. */
    private readonly tell: (message: ReadinessMessage) => void,
  ) {}

  /** Every worker listens: from now on the node is ready whenever it is joined. */
  listen(): void {
    this.listening = true;
    this.check();
  }

  /** The node drains: not ready again, ever, whatever else holds. */
  drain(): void {
    this.draining = true;
    this.check();
  }

  get ready(): boolean {
    return this.current().ready;
  }

  /** What to tell a worker that just started (or restarted): the verdict as it stands. */
  current(): ReadinessMessage {
    if (this.draining) return { type: 'readiness', ready: false, reason: DRAINING_REASON };
    if (!this.listening) return { type: 'readiness', ready: false, reason: STARTING_REASON };
    this.joined ||= this.isJoined();
    if (!this.joined) return { type: 'readiness', ready: false, reason: NOT_JOINED_REASON };
    return { type: 'readiness', ready: true, reason: 'ready' };
  }

  /** Tells the workers when the verdict changed since last told; cheap enough to run on a short timer. */
  check(): void {
    const now = this.current();
    if (this.told && this.told.ready === now.ready && this.told.reason === now.reason) return;
    this.told = now;
    this.tell(now);
  }
}
