// A WebSocket client on a bare socket, for the handshake and framing cases a library client never produces:
// any head, frames split or joined at will, unmasked or with reserved bits, invalid UTF-8. It records the
// server's answer head and the frames after it.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { waitFor } from './daemon.js';

export interface ServerFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** A client frame: masked unless told otherwise, final unless told otherwise. */
export function clientFrame(opcode: number, payload: Buffer | string, { fin = true, rsv = 0, mask = true } = {}): Buffer {
  const data = Buffer.from(payload);
  const lengthBytes = data.length < 126 ? [data.length] : [126, data.length >> 8, data.length & 0xff];
  const key = mask ? randomBytes(4) : Buffer.alloc(0);
  const masked = Buffer.from(data.map((byte, i) => (mask ? byte ^ key[i & 3]! : byte)));
  return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | (rsv << 4) | opcode, (mask ? 0x80 : 0) | lengthBytes[0]!, ...lengthBytes.slice(1)]), key, masked]);
}

export function closePayload(code: number, reason = ''): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return payload;
}

export class RawWs {
  readonly socket: Socket;
  private received = Buffer.alloc(0);
  ended = false;

  constructor(port: number, head: string | Buffer) {
    this.socket = connect(port, '127.0.0.1', () => this.socket.write(head));
    this.socket.on('data', (chunk: Buffer) => { this.received = Buffer.concat([this.received, chunk]); });
    this.socket.on('end', () => { this.ended = true; });
    this.socket.on('close', () => { this.ended = true; });
    this.socket.on('error', () => {});
  }

  /** The answer's head (status line and headers) once complete. */
  async head(timeoutMs = 5000): Promise<{ status: number; headers: Record<string, string>; raw: string }> {
    await waitFor(() => this.received.includes('\r\n\r\n'), timeoutMs, 'the answer head');
    const raw = this.received.subarray(0, this.received.indexOf('\r\n\r\n')).toString('latin1');
    const [statusLine, ...lines] = raw.split('\r\n');
    const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    return { status: Number(statusLine!.split(' ')[1]), headers, raw };
  }

  /** The bytes after the answer's head (a body, or frames). */
  body(): Buffer {
    const end = this.received.indexOf('\r\n\r\n');
    return end === -1 ? Buffer.alloc(0) : this.received.subarray(end + 4);
  }

  /** The server's frames so far (unmasked, lengths up to 16 bits: the daemon's frames in these tests). */
  frames(): ServerFrame[] {
    const bytes = this.body();
    const frames: ServerFrame[] = [];
    let at = 0;
    while (bytes.length - at >= 2) {
      let length = bytes[at + 1]! & 0x7f;
      let header = 2;
      if (length === 126) {
        if (bytes.length - at < 4) break;
        length = bytes.readUInt16BE(at + 2);
        header = 4;
      }
      if (bytes.length - at < header + length) break;
      frames.push({ fin: (bytes[at]! & 0x80) !== 0, opcode: bytes[at]! & 0x0f, payload: bytes.subarray(at + header, at + header + length) });
      at += header + length;
    }
    return frames;
  }

  async waitForFrame(test: (frame: ServerFrame) => boolean, what: string, timeoutMs = 5000): Promise<ServerFrame> {
    await waitFor(() => this.frames().some(test), timeoutMs, what);
    return this.frames().find(test)!;
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** An upgrade head to `path` with a fresh key; `extra` header lines replace or add to the usual ones. */
export function upgradeHead(path: string, extra: Record<string, string | undefined> = {}): { head: string; key: string } {
  const key = randomBytes(16).toString('base64');
  const headers: Record<string, string | undefined> = {
    Host: 'x', Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13', ...extra,
  };
  const lines = Object.entries(headers).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return { head: `GET ${path} HTTP/1.1\r\n${lines}\r\n`, key: extra['Sec-WebSocket-Key'] ?? key };
}
