// A viewer that behaves like a browser's EventSource for tests behind a load balancer: when its stream ends
// it waits the last `retry:` it was given (3 s, the browsers' default, until told) and reconnects with
// Last-Event-ID, recording every attempt. Unlike a browser it does not give up after a refusal: the test
// counts refusals instead.
import { sleep } from './daemon.js';
import { SseClient } from './sse-client.js';

const BROWSER_DEFAULT_RETRY_MS = 3000;

export interface Attempt {
  /** 0: no response (connection refused or reset). */
  status: number;
  /** The stream's last `retry:`, if it sent one. */
  retry: number | undefined;
  /** ms since epoch when it ended. */
  endedAt: number;
}

/** The last `retry:` value in an SSE body. */
export function lastRetry(body: string): number | undefined {
  return retriesOf(body).at(-1);
}

/** Every `retry:` a stream carried, in order: its first frame's (drawn per connection), then a drain's. */
export function retriesOf(body: string): number[] {
  return [...body.matchAll(/^retry: ?(\d+)$/gm)].map((match) => Number(match[1]));
}

export class ReconnectingViewer {
  /** Attempts that ended, oldest first (the current one is not among them). */
  readonly ended: Attempt[] = [];
  private current: SseClient | undefined;
  private closed = false;
  private readonly running: Promise<void>;

  constructor(private readonly port: number, private readonly path: string) {
    this.running = this.run();
  }

  /** Streaming now: the current attempt answered 200 and sent its first count. */
  get open(): boolean {
    const client = this.current;
    return client !== undefined && !client.ended && client.status === 200 && client.events.length > 0;
  }

  /** Attempts answered anything but a 200 stream, or not at all. */
  refusals(): Attempt[] {
    return this.ended.filter((attempt) => attempt.status !== 200);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.current?.close();
    await this.running;
  }

  private async run(): Promise<void> {
    let lastEventId: string | undefined;
    let retry = BROWSER_DEFAULT_RETRY_MS;
    while (!this.closed) {
      const client = new SseClient(this.port, this.path, { headers: lastEventId ? { 'Last-Event-ID': lastEventId } : {} });
      this.current = client;
      while (!client.ended && !this.closed) await sleep(20);
      if (this.closed) return;
      const attempt: Attempt = { status: client.status, retry: lastRetry(client.body), endedAt: Date.now() };
      this.ended.push(attempt);
      lastEventId = client.events.find((event) => event.id !== undefined)?.id ?? lastEventId;
      retry = attempt.retry ?? retry;
      await sleep(retry);
    }
  }
}
