// SSE viewers on raw sockets that reconnect the way a browser running client/audience.js does: when a
// stream that was open ends, EventSource waits the daemon's `retry:` (3 s, Chromium's default, until one
// came) and reconnects; when a reconnection gets anything but 200 (a proxy's 502), EventSource gives up and
// audience.js reopens it after its backoff (1 s doubling up to 30 s, plus up to half again of jitter, reset
// by a 200). Each viewer notes when its streams opened, so a benchmark can tell when everyone was back.

import { connect, type Socket } from 'node:net';

/** Chromium's reconnection time before a stream has sent `retry:`. */
const DEFAULT_RETRY_MS = 3000;
const RETRY_FIELD = /(?:^|\n)retry: ?(\d+)\n/;

export class BrowserLikeViewer {
  /** When each of its streams got its 200, ms since epoch. */
  readonly openedAt: number[] = [];
  /** Answers other than 200 (each one a reopening by the client's backoff). */
  refusals = 0;
  retryMs = DEFAULT_RETRY_MS;
  private backoffMs = 1000;
  private socket: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly path: string,
    private readonly localAddress: string,
    /** false: ignore `retry:` and always wait DEFAULT_RETRY_MS, as if the daemon sent none. */
    private readonly honourRetry = true,
  ) {}

  open(): void {
    if (this.stopped) return;
    // Connection: close makes the end of a response the end of the socket (a browser reads the chunked
    // end instead; either way the stream is over when the daemon's is).
    const socket = (this.socket = connect({ host: this.host, port: this.port, localAddress: this.localAddress }));
    socket.setEncoding('latin1');
    let head = '';
    let status = 0;
    socket.write(`GET ${this.path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n`);
    socket.on('data', (chunk: string) => {
      if (status === 0) {
        head += chunk;
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? -1);
        if (status !== 200) return this.refused(socket);
        this.openedAt.push(Date.now());
        this.backoffMs = 1000;
        chunk = head.slice(end + 4);
      }
      const retry = this.honourRetry ? RETRY_FIELD.exec(chunk) : null;
      if (retry) this.retryMs = Number(retry[1]);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.socket !== socket || this.stopped) return;
      if (status === 200) this.schedule(this.retryMs); // the browser's own reconnection
      else if (status === 0) this.refused(socket); // no answer at all: EventSource fails the same way
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.destroy();
  }

  private refused(socket: Socket): void {
    this.refusals++;
    this.socket = undefined;
    socket.destroy();
    this.schedule(this.backoffMs * (1 + Math.random() / 2));
    this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(), ms);
  }
}
