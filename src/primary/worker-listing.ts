// This node's open connections for the admin API, asked from the workers when an operator looks (a page of
// GET /api/connections, a live feed's snapshot), as targeted messages are: the primary keeps no connection.
//
// The order is the workers' (by worker id), then each worker's own (its connection counter), so a connection
// keeps its place while it is open: the cursor of a page is the place of its last connection, one number
// (`worker × 2^32 + counter`, as the cluster listing's `{node}.{n}` wants it), and the next page asks only the
// workers from that one on. Worker ids are never reused while the primary runs (node:cluster counts them).
import { parseConnectionId } from '../protocol/connection-id.js';
import { MAX_LISTED, type ConnectionFacts, type PrimaryMessage } from '../protocol/ipc.js';
import type { Snapshot } from './admin/event-feed.js';
import type { ListingQuery, NodePage } from './cluster/cluster.js';
import type { DescribeConnection } from './connection-view.js';
import { WorkerQuestions } from './worker-requests.js';

export type ListMessage = Extract<PrimaryMessage, { type: 'list' }>;

interface Listed {
  connections: ConnectionFacts[];
  matched: number;
}

/** Connection counters of one worker stay below this (4 billion connections per worker process). */
const COUNTER_SPAN = 2 ** 32;

export interface WorkerListingDeps {
  workers(): number[];
  /** False when that worker is gone. */
  send(worker: number, message: ListMessage): boolean;
  describe: DescribeConnection;
}

export class WorkerListing {
  private readonly questions = new WorkerQuestions<Listed>();

  constructor(private readonly deps: WorkerListingDeps) {}

  /** One page after place `after` (0: from the start); `next` is the place of its last connection, null on the last page. */
  async page(query: ListingQuery, after: number): Promise<NodePage> {
    const fromWorker = Math.floor(after / COUNTER_SPAN);
    const workers = this.deps.workers().filter((worker) => worker >= fromWorker).sort((a, b) => a - b);
    const from = (worker: number): number => (worker === fromWorker ? (after % COUNTER_SPAN) + 1 : 0);
    const answers = await this.ask(workers, query.ns ?? null, query.user ?? null, from, query.limit);
    const connections: Record<string, unknown>[] = [];
    let last = after;
    let more = false;
    for (let i = 0; i < workers.length; i++) {
      const worker = workers[i]!;
      const listed = answers.get(worker);
      if (!listed) continue;
      let taken = 0;
      for (const facts of listed.connections) {
        if (connections.length === query.limit) break;
        connections.push(this.deps.describe(facts));
        last = placeOf(worker, facts.connection) ?? last;
        taken++;
      }
      if (connections.length === query.limit) {
        more = listed.matched > taken || workers.slice(i + 1).some((later) => (answers.get(later)?.matched ?? 0) > 0);
        break;
      }
    }
    return { connections, next: more ? last : null };
  }

  /** The first connections of `ns` (all when undefined) on every worker, and how many there are. */
  async snapshot(ns: string | undefined): Promise<Snapshot> {
    const workers = this.deps.workers().sort((a, b) => a - b);
    const answers = await this.ask(workers, ns ?? null, null, () => 0, MAX_LISTED);
    const snapshot: Snapshot = { connections: [], total: 0 };
    for (const worker of workers) {
      const listed = answers.get(worker);
      if (!listed) continue;
      snapshot.total += listed.matched;
      for (const facts of listed.connections) if (snapshot.connections.length < MAX_LISTED) snapshot.connections.push(this.deps.describe(facts));
    }
    return snapshot;
  }

  listed(worker: number, id: number, connections: ConnectionFacts[], matched: number): void {
    this.questions.answer(worker, id, { connections, matched });
  }

  workerGone(worker: number): void {
    this.questions.workerGone(worker);
  }

  private ask(workers: number[], ns: string | null, user: string | null, from: (worker: number) => number, limit: number): Promise<Map<number, Listed>> {
    return this.questions.ask(workers, (worker, id) => this.deps.send(worker, { type: 'list', id, ns, user, from: from(worker), limit }));
  }
}

/** A connection's place in this node's listing, from its id (its worker's counter). */
function placeOf(worker: number, connection: string): number | undefined {
  const counter = parseConnectionId(connection)?.counter;
  return counter !== undefined && counter < COUNTER_SPAN ? worker * COUNTER_SPAN + counter : undefined;
}
