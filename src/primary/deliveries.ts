// Targeted messages from the admin API to viewers: the primary asks the workers that may hold the targets
// to `deliver`, each answers `delivered` with how many of its connections got it, and the sum is the answer.
// A worker that does not answer in time (busy, dying) counts as 0, so a request never hangs on one.
// This node's workers only: delivery to connections on peer nodes is not done yet.

import type { DeliveryTarget, PrimaryMessage } from '../protocol/ipc.js';

export type DeliverMessage = Extract<PrimaryMessage, { type: 'deliver' }>;

interface Pending {
  waiting: Set<number>;
  count: number;
  timer: NodeJS.Timeout;
  resolve(count: number): void;
}

export const DELIVERY_TIMEOUT_MS = 2000;

export class Deliveries {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  /** `send` returns false when the worker could not be sent to (gone): it is not waited for. */
  constructor(private readonly send: (worker: number, message: DeliverMessage) => boolean, private readonly timeoutMs = DELIVERY_TIMEOUT_MS) {}

  /** Resolves with the number of connections that received the message on `workers`. */
  deliver(workers: readonly number[], target: DeliveryTarget, event: string, data: string): Promise<number> {
    const id = this.nextId++;
    const message: DeliverMessage = { type: 'deliver', id, target, event, data };
    const waiting = new Set(workers.filter((worker) => this.send(worker, message)));
    if (waiting.size === 0) return Promise.resolve(0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.finish(id), this.timeoutMs);
      this.pending.set(id, { waiting, count: 0, timer, resolve });
    });
  }

  /** A worker's answer; one for an unknown id or from a worker not asked (late, repeated) is ignored. */
  delivered(worker: number, id: number, count: number): void {
    const pending = this.pending.get(id);
    if (!pending || !pending.waiting.delete(worker)) return;
    pending.count += count;
    if (pending.waiting.size === 0) this.finish(id);
  }

  /** A worker died: stop waiting for it. */
  workerGone(worker: number): void {
    for (const [id, pending] of this.pending) {
      if (pending.waiting.delete(worker) && pending.waiting.size === 0) this.finish(id);
    }
  }

  private finish(id: number): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    pending.resolve(pending.count);
  }
}
