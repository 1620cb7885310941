// Targeted messages from the admin API to viewers: the primary asks the workers that may hold the targets
// to `deliver`, each answers `delivered` with how many of its connections got it, and the sum is the answer.
import type { DeliveryTarget, PrimaryMessage } from '../protocol/ipc.js';
import { WorkerRequests } from './worker-requests.js';

export type DeliverMessage = Extract<PrimaryMessage, { type: 'deliver' }>;

export class Deliveries {
  private readonly requests: WorkerRequests;

  /** `send` returns false when the worker could not be sent to (gone): it is not waited for. */
  constructor(private readonly send: (worker: number, message: DeliverMessage) => boolean, timeoutMs?: number) {
    this.requests = new WorkerRequests(timeoutMs);
  }

  /** Resolves with the number of connections that received the message on `workers`. */
  deliver(workers: readonly number[], target: DeliveryTarget, event: string, data: string): Promise<number> {
    return this.requests.ask(workers, (worker, id) => this.send(worker, { type: 'deliver', id, target, event, data }));
  }

  /** A worker's answer; one for an unknown id or from a worker not asked (late, repeated) is ignored. */
  delivered(worker: number, id: number, count: number): void {
    this.requests.answer(worker, id, count);
  }

  /** A worker died: stop waiting for it. */
  workerGone(worker: number): void {
    this.requests.workerGone(worker);
  }
}
