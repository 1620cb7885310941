// A connection id, `{node}-{worker}-{worker start}-{counter}`: made by a worker (worker/session-ids.ts), read by
// the primary to find the node and the worker that hold a connection (a targeted message goes to that worker
// only), and by the attendance log to close a dead worker's sessions in one statement (its rows' connection
// ids share the worker's prefix). One format, built and read here only.

/** What every connection id of one worker process starts with. Node ids are [0-9a-z]; the rest is digits. */
export function workerPrefix(node: string, worker: number, startedAt?: number): string {
  return startedAt === undefined ? `${node}-${worker}-` : `${node}-${worker}-${startedAt.toString(36)}-`;
}

const CONNECTION_ID = /^([0-9a-z]+)-(\d+)-[0-9a-z]+-([0-9a-z]{1,11})$/;

export interface ConnectionIdParts {
  node: string;
  worker: number;
  /** The worker's number for the connection: ids of one worker sort by it. */
  counter: number;
}

/** The parts of an id of that shape; undefined for anything else. */
export function parseConnectionId(id: string): ConnectionIdParts | undefined {
  const match = CONNECTION_ID.exec(id);
  return match ? { node: match[1]!, worker: Number(match[2]), counter: parseInt(match[3]!, 36) } : undefined;
}
