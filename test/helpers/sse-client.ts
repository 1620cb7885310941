// A small EventSource-like client over a raw HTTP request, for tests: it records every event and the
// response headers, and can wait for a condition.
import { request, type IncomingHttpHeaders } from 'node:http';
import { waitFor } from './daemon.js';

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  status = 0;
  headers: IncomingHttpHeaders = {};
  body = '';
  ended = false;
  private buffer = '';
  private readonly req;

  constructor(port: number, path: string, { method = 'GET', headers = {} as Record<string, string>, localAddress = undefined as string | undefined } = {}) {
    this.req = request({ host: '127.0.0.1', port, path, method, agent: false, localAddress, headers: { Accept: 'text/event-stream', ...headers } });
    this.req.on('response', (res) => {
      this.status = res.statusCode ?? 0;
      this.headers = res.headers;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => this.feed(chunk));
      res.on('end', () => { this.ended = true; });
      res.on('close', () => { this.ended = true; });
      res.on('error', () => { this.ended = true; });
    });
    this.req.on('error', () => { this.ended = true; });
    this.req.end();
  }

  /** Data of the count events (a bare integer), in order. */
  counts(): number[] {
    return this.events.filter((e) => e.event === 'message' && /^\d+$/.test(e.data)).map((e) => Number(e.data));
  }

  lastCount(): number | undefined {
    return this.counts().at(-1);
  }

  waitForEvents(n: number, timeoutMs = 5000): Promise<void> {
    return waitFor(() => this.events.length >= n, timeoutMs, `${n} SSE events (have ${this.events.length})`);
  }

  waitForCount(expected: number, timeoutMs = 5000): Promise<void> {
    return waitFor(() => this.lastCount() === expected, timeoutMs, `count ${expected} (last ${this.lastCount()})`);
  }

  waitForEnd(timeoutMs = 5000): Promise<void> {
    return waitFor(() => this.ended, timeoutMs, 'the stream to end');
  }

  /** Resolves once the response headers have arrived. */
  waitForResponse(timeoutMs = 5000): Promise<void> {
    return waitFor(() => this.status !== 0 || this.ended, timeoutMs, 'a response');
  }

  close(): void {
    this.req.destroy();
    this.ended = true;
  }

  private feed(chunk: string): void {
    this.body += chunk;
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) !== -1) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const event: SseEvent = { event: 'message', data: '' };
      const data: string[] = [];
      let isComment = true;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        isComment = false;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') data.push(value);
        else if (field === 'event') event.event = value;
        else if (field === 'id') event.id = value;
      }
      if (isComment) continue;
      event.data = data.join('\n');
      this.events.push(event);
    }
  }
}

/** Opens a stream and waits for its first event. */
export async function openViewer(port: number, path: string, init?: ConstructorParameters<typeof SseClient>[2]): Promise<SseClient> {
  const client = new SseClient(port, path, init);
  await client.waitForEvents(1);
  return client;
}
