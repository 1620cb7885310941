// Expulsions by the device limit reach this node's workers in two steps. An expelled browser reconnects
// (Last-Event-ID = its session id) as soon as its stream ends, and the kernel may hand that connection to any
// worker; only a worker that already knows the id answers 204. So every worker first notes the ids and says
// so, and only then are the streams ended: the reconnection cannot overtake the news.
import type { PrimaryMessage } from '../protocol/ipc.js';
import { WorkerRequests } from './worker-requests.js';

export type NoteExpelledMessage = Extract<PrimaryMessage, { type: 'note-expelled' }>;
export type ExpelMessage = Extract<PrimaryMessage, { type: 'expel' }>;

export interface ExpulsionWorkers {
  ids(): number[];
  /** false when the worker could not be sent to (gone). */
  send(worker: number, message: NoteExpelledMessage | ExpelMessage): boolean;
}

/** `id` of a note nobody waits for. */
const NO_ANSWER = 0;

export class Expulsions {
  private readonly requests: WorkerRequests;

  constructor(private readonly workers: ExpulsionWorkers, timeoutMs?: number) {
    this.requests = new WorkerRequests(timeoutMs);
  }

  /** Ends these sessions of this node, once every worker knows them (or did not answer in time). */
  async expel(sessions: string[]): Promise<void> {
    await this.requests.ask(this.workers.ids(), (worker, id) => this.workers.send(worker, { type: 'note-expelled', id, sessions }));
    // Every worker hears it, not only the holder: the primary does not track which worker holds a stream.
    for (const worker of this.workers.ids()) this.workers.send(worker, { type: 'expel', sessions });
  }

  /** Sessions expelled on another node: their browsers may reconnect here, so the workers note them too. */
  note(sessions: string[]): void {
    for (const worker of this.workers.ids()) this.workers.send(worker, { type: 'note-expelled', id: NO_ANSWER, sessions });
  }

  /** A worker's `noted` answer. */
  noted(worker: number, id: number): void {
    this.requests.answer(worker, id, 1);
  }

  /** A worker died: stop waiting for it. */
  workerGone(worker: number): void {
    this.requests.workerGone(worker);
  }
}
