// A WebSocket viewer for tests (the `ws` client): records every JSON frame the daemon sends, the close code
// and reason, and can wait for a condition.
import { WebSocket } from 'ws';
import { waitFor } from './daemon.js';

export interface WsFrame {
  type: string;
  members?: number;
  event?: string;
  data?: string;
  reason?: string;
}

export class WsClient {
  readonly frames: WsFrame[] = [];
  readonly socket: WebSocket;
  /** Set once closed: the code and reason from the server's close frame (1006: none). */
  closed: { code: number; reason: string } | undefined;
  /** A refused upgrade: the HTTP status and body. */
  refused: { status: number; body: string } | undefined;
  opened = false;

  /** `autoPong: false` makes a client that never answers the daemon's pings, as a dead peer would not. */
  constructor(port: number, path: string, headers: Record<string, string> = {}, { autoPong = true } = {}) {
    this.socket = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers, autoPong });
    this.socket.on('open', () => { this.opened = true; });
    this.socket.on('message', (data, isBinary) => {
      if (isBinary) throw new Error('the daemon sent a binary frame');
      this.frames.push(JSON.parse(String(data)) as WsFrame);
    });
    this.socket.on('close', (code, reason) => { this.closed = { code, reason: String(reason) }; });
    this.socket.on('error', () => {});
    this.socket.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => {
        this.refused = { status: res.statusCode ?? 0, body };
        this.closed ??= { code: 1006, reason: '' };
      });
    });
  }

  counts(): number[] {
    return this.frames.filter((f) => f.type === 'count').map((f) => f.members!);
  }

  messages(): WsFrame[] {
    return this.frames.filter((f) => f.type === 'message');
  }

  waitForFrames(n: number, timeoutMs = 5000): Promise<void> {
    return waitFor(() => this.frames.length >= n, timeoutMs, `${n} WebSocket frames (have ${this.frames.length})`);
  }

  waitForCount(expected: number, timeoutMs = 5000): Promise<void> {
    return waitFor(() => this.counts().at(-1) === expected, timeoutMs, `count ${expected} (last ${this.counts().at(-1)})`);
  }

  waitForClose(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    return waitFor(() => this.closed !== undefined, timeoutMs, 'the WebSocket to close').then(() => this.closed!);
  }

  send(data: string | Buffer): void {
    this.socket.send(data);
  }

  close(): void {
    this.socket.terminate();
  }
}

/** Opens a WebSocket viewer and waits for its first frame (the count). */
export async function openWsViewer(port: number, path: string, headers?: Record<string, string>, options?: { autoPong?: boolean }): Promise<WsClient> {
  const client = new WsClient(port, path, headers, options);
  await client.waitForFrames(1);
  return client;
}

/** An upgrade the daemon refuses: its HTTP status and body. */
export async function wsRefusal(port: number, path: string, headers?: Record<string, string>): Promise<{ status: number; body: string }> {
  const client = new WsClient(port, path, headers);
  await waitFor(() => client.refused !== undefined || client.opened, 5000, 'the upgrade to be answered');
  if (!client.refused) {
    client.close();
    throw new Error(`the upgrade to ${path} was accepted`);
  }
  return client.refused;
}
