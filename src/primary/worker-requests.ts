// Questions the primary asks some of its workers and waits on. WorkerQuestions collects each worker's answer
// (a page of the listing, say); WorkerRequests adds numeric answers up (how many connections got a message).
// A worker that does not answer in time (busy, dying) is left out, so nothing waits on one forever.

interface Pending<T> {
  waiting: Set<number>;
  answers: Map<number, T>;
  timer: NodeJS.Timeout;
  resolve(answers: Map<number, T>): void;
}

export const ANSWER_TIMEOUT_MS = 2000;

export class WorkerQuestions<T> {
  private readonly pending = new Map<number, Pending<T>>();
  private nextId = 1;

  constructor(private readonly timeoutMs = ANSWER_TIMEOUT_MS) {}

  /**
   * Sends request `id` to each of `workers` with `send`, which returns false when the worker could not be
   * sent to (gone): it is not waited for. Resolves with the answers by worker.
   */
  ask(workers: readonly number[], send: (worker: number, id: number) => boolean): Promise<Map<number, T>> {
    const id = this.nextId++;
    const waiting = new Set(workers.filter((worker) => send(worker, id)));
    if (waiting.size === 0) return Promise.resolve(new Map());
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.finish(id), this.timeoutMs);
      this.pending.set(id, { waiting, answers: new Map(), timer, resolve });
    });
  }

  /** A worker's answer; one for an unknown id or from a worker not asked (late, repeated) is ignored. */
  answer(worker: number, id: number, value: T): void {
    const pending = this.pending.get(id);
    if (!pending || !pending.waiting.delete(worker)) return;
    pending.answers.set(worker, value);
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
    pending.resolve(pending.answers);
  }
}

/** Numeric answers, summed; a worker left out counts as 0. */
export class WorkerRequests {
  private readonly questions: WorkerQuestions<number>;

  constructor(timeoutMs = ANSWER_TIMEOUT_MS) {
    this.questions = new WorkerQuestions(timeoutMs);
  }

  async ask(workers: readonly number[], send: (worker: number, id: number) => boolean): Promise<number> {
    let sum = 0;
    for (const value of (await this.questions.ask(workers, send)).values()) sum += value;
    return sum;
  }

  answer(worker: number, id: number, value: number): void {
    this.questions.answer(worker, id, value);
  }

  workerGone(worker: number): void {
    this.questions.workerGone(worker);
  }
}
