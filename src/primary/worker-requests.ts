// Questions the primary asks some of its workers and waits on: each worker answers with a number (how many
// connections got a message, say) and the sum is the answer. A worker that does not answer in time (busy,
// dying) counts as 0, so nothing waits on one forever.

interface Pending {
  waiting: Set<number>;
  sum: number;
  timer: NodeJS.Timeout;
  resolve(sum: number): void;
}

export const ANSWER_TIMEOUT_MS = 2000;

export class WorkerRequests {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(private readonly timeoutMs = ANSWER_TIMEOUT_MS) {}

  /**
   * Sends request `id` to each of `workers` with `send`, which returns false when the worker could not be
   * sent to (gone): it is not waited for. Resolves with the sum of the answers.
   */
  ask(workers: readonly number[], send: (worker: number, id: number) => boolean): Promise<number> {
    const id = this.nextId++;
    const waiting = new Set(workers.filter((worker) => send(worker, id)));
    if (waiting.size === 0) return Promise.resolve(0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.finish(id), this.timeoutMs);
      this.pending.set(id, { waiting, sum: 0, timer, resolve });
    });
  }

  /** A worker's answer; one for an unknown id or from a worker not asked (late, repeated) is ignored. */
  answer(worker: number, id: number, value: number): void {
    const pending = this.pending.get(id);
    if (!pending || !pending.waiting.delete(worker)) return;
    pending.sum += value;
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
    pending.resolve(pending.sum);
  }
}
