// Incremental parser for many WebSocket viewers at once (RFC 6455, as a client): the 101 answer to the
// upgrade (its Sec-WebSocket-Accept checked), then the server's frames: unmasked, 7-, 16- or 64-bit lengths,
// text and binary messages (fragmented or not), ping (answered with a masked pong), pong, close. Each
// whole text or binary message is one message to ViewerTable, as an SSE `data:` line is.
//
// What a message says differs per server, and is read here so the counting does not: the daemon's frames are
// JSON (docs/protocols.md: {"type":"count","members":N}, {"type":"message","event":E,"data":D}; the bare floor
// sends the same bytes), nchan's are the published message as is ("0", "bench=<id>"). A JSON count is the
// count an SSE `data: N` line carries, and a JSON message E/D is the SSE payload `E=D`, so one marker serves
// both.
//
// Messages are seldom split across reads: a message whole in one read is read where it lies; only one that
// spans reads or frames is copied (up to MAX_KEPT bytes; a longer one counts, but as neither count nor marker).
import { createHash, randomBytes } from 'node:crypto';
import { type StreamEvents, ViewerTable } from './viewer-table.js';

const P_HEAD = 0; // waiting for the 101 answer
const P_FRAME = 1; // reading a frame header (2 to 10 bytes: a server never masks)
const P_PAYLOAD = 2; // inside a frame's payload, `left` bytes to go
const P_DONE = 3; // closed or unusable: ignore the rest

const OP_CONTINUATION = 0;
const OP_TEXT = 1;
const OP_BINARY = 2;
const OP_CLOSE = 8;
const OP_PING = 9;
const OP_PONG = 10;

const MAX_HEADER = 10;
const MAX_CONTROL = 125;
const MAX_KEPT = 4096;
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The Sec-WebSocket-Accept a server must answer to `key`. */
export function acceptFor(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** A new Sec-WebSocket-Key: 16 random bytes, base64. */
export function newWebSocketKey(): string {
  return randomBytes(16).toString('base64');
}

/** A client frame (always masked, RFC 6455 5.3) with a control payload of at most 125 bytes. */
export function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const out = Buffer.allocUnsafe(6 + payload.length);
  out[0] = 0x80 | opcode;
  out[1] = 0x80 | payload.length;
  mask.copy(out, 2);
  for (let k = 0; k < payload.length; k++) out[6 + k] = payload[k] ^ mask[k & 3];
  return out;
}

export class WsStreamTable extends ViewerTable {
  private readonly phase: Uint8Array;
  /** The frame header read so far, MAX_HEADER bytes per stream, and how many. */
  private readonly header: Uint8Array;
  private readonly headerLen: Uint8Array;
  /** The current frame's opcode and FIN bit, and the payload bytes still to come. */
  private readonly opcode: Uint8Array;
  private readonly fin: Uint8Array;
  private readonly left: Float64Array;
  /** The opcode of the message whose fragments are arriving (0: none). */
  private readonly messageOp: Uint8Array;
  /** Bytes of a message that spans reads or frames, and its length so far (past MAX_KEPT: no longer kept). */
  private readonly messagePieces = new Map<number, Buffer[]>();
  private readonly kept: Float64Array;
  /** Bytes of a control frame that spans reads. */
  private readonly controlPieces = new Map<number, Buffer[]>();
  private markerText: string | null = null;
  private readonly accept: string;

  /** `key`: the Sec-WebSocket-Key every upgrade of this table sends. */
  constructor(size: number, events: StreamEvents, key: string) {
    super(size, events, '101');
    this.accept = acceptFor(key);
    this.phase = new Uint8Array(size);
    this.header = new Uint8Array(size * MAX_HEADER);
    this.headerLen = new Uint8Array(size);
    this.opcode = new Uint8Array(size);
    this.fin = new Uint8Array(size);
    this.left = new Float64Array(size);
    this.messageOp = new Uint8Array(size);
    this.kept = new Float64Array(size);
  }

  override open(i: number): void {
    super.open(i);
    this.phase[i] = P_HEAD;
    this.headerLen[i] = 0;
    this.messageOp[i] = 0;
    this.kept[i] = 0;
    this.forget(i);
  }

  override close(i: number): void {
    super.close(i);
    this.forget(i);
  }

  private forget(i: number): void {
    this.messagePieces.delete(i);
    this.controlPieces.delete(i);
  }

  override setMarker(payload: string | null): void {
    super.setMarker(payload);
    this.markerText = payload;
  }

  protected override headProblem(headers: string): string | undefined {
    const m = /\r\nsec-websocket-accept:[ \t]*([^\r]*)/i.exec(headers);
    return m?.[1]?.trim() === this.accept ? undefined : 'EWSACCEPT';
  }

  protected override fail(i: number, code: string): void {
    this.phase[i] = P_DONE;
    this.forget(i);
    super.fail(i, code);
  }

  feed(i: number, buf: Buffer): void {
    let pos = 0;
    const len = buf.length;
    while (pos < len) {
      switch (this.phase[i]) {
        case P_HEAD: {
          const r = this.feedHead(i, buf, pos);
          if (!('head' in r)) {
            if (r.stopped) this.phase[i] = P_DONE;
            return;
          }
          this.phase[i] = P_FRAME;
          pos = r.next;
          break;
        }
        case P_FRAME:
          pos = this.feedFrameHeader(i, buf, pos);
          break;
        case P_PAYLOAD:
          pos = this.feedPayload(i, buf, pos);
          break;
        default:
          return;
      }
    }
  }

  /** Reads header bytes from buf[pos..]; once the header is whole, moves to its payload. Returns the new position. */
  private feedFrameHeader(i: number, buf: Buffer, pos: number): number {
    const h = this.header;
    const at = i * MAX_HEADER;
    let n = this.headerLen[i];
    while (pos < buf.length && n < 2) h[at + n++] = buf[pos++];
    if (n < 2) {
      this.headerLen[i] = n;
      return pos;
    }
    const b0 = h[at];
    const b1 = h[at + 1];
    if ((b1 & 0x80) !== 0) return this.failAt(i, buf, 'EWSMASKED'); // a server must not mask
    if ((b0 & 0x70) !== 0) return this.failAt(i, buf, 'EWSRSV'); // no extension was negotiated
    const len7 = b1 & 0x7f;
    const need = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
    while (pos < buf.length && n < need) h[at + n++] = buf[pos++];
    this.headerLen[i] = n;
    if (n < need) return pos;
    let payloadLen = len7;
    if (len7 === 126) payloadLen = (h[at + 2] << 8) | h[at + 3];
    else if (len7 === 127) {
      payloadLen = 0;
      for (let k = 2; k < 10; k++) payloadLen = payloadLen * 256 + h[at + k];
    }
    const op = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    if (op >= OP_CLOSE) {
      if (op !== OP_CLOSE && op !== OP_PING && op !== OP_PONG) return this.failAt(i, buf, 'EWSOPCODE');
      if (!fin || payloadLen > MAX_CONTROL) return this.failAt(i, buf, 'EWSCONTROL');
    } else if (op === OP_CONTINUATION) {
      if (this.messageOp[i] === 0) return this.failAt(i, buf, 'EWSCONTINUATION');
    } else if (op === OP_TEXT || op === OP_BINARY) {
      if (this.messageOp[i] !== 0) return this.failAt(i, buf, 'EWSFRAGMENT');
      this.messageOp[i] = op;
      this.kept[i] = 0;
    } else return this.failAt(i, buf, 'EWSOPCODE');
    this.headerLen[i] = 0;
    this.opcode[i] = op;
    this.fin[i] = fin ? 1 : 0;
    this.left[i] = payloadLen;
    this.phase[i] = P_PAYLOAD;
    // An empty payload ends its frame now, even at the end of this read.
    return payloadLen === 0 ? this.feedPayload(i, buf, pos) : pos;
  }

  /** Takes the current frame's payload bytes from buf[pos..]. Returns the new position. */
  private feedPayload(i: number, buf: Buffer, pos: number): number {
    const n = Math.min(this.left[i], buf.length - pos);
    const piece = buf.subarray(pos, pos + n);
    const done = (this.left[i] -= n) === 0;
    if (done) this.phase[i] = P_FRAME;
    if (this.opcode[i] >= OP_CLOSE) {
      const list = this.controlPieces.get(i);
      if (done && !list) this.endControl(i, piece);
      else if (!list) this.controlPieces.set(i, [Buffer.from(piece)]);
      else {
        list.push(Buffer.from(piece));
        if (done) {
          this.controlPieces.delete(i);
          this.endControl(i, Buffer.concat(list));
        }
      }
      return pos + n;
    }
    const last = done && this.fin[i] === 1;
    // The common case: a message in one frame, whole in this read, read where it lies.
    if (last && this.kept[i] === 0) {
      this.endMessage(i, piece);
      return pos + n;
    }
    if (this.kept[i] + n <= MAX_KEPT) {
      const list = this.messagePieces.get(i);
      if (list) list.push(Buffer.from(piece));
      else this.messagePieces.set(i, [Buffer.from(piece)]);
    }
    this.kept[i] += n;
    if (last) {
      const list = this.messagePieces.get(i) ?? [];
      this.messagePieces.delete(i);
      this.endMessage(i, this.kept[i] <= MAX_KEPT ? Buffer.concat(list) : TOO_LONG);
    }
    return pos + n;
  }

  /** A whole text or binary message: counted as an SSE data line is. */
  private endMessage(i: number, payload: Buffer): void {
    this.messageOp[i] = 0;
    this.kept[i] = 0;
    const { count, isMarker } = payload === TOO_LONG ? NOTHING : this.read(payload);
    this.delivered(i, count, isMarker);
  }

  /** A whole control frame (it may come between two fragments of a message, whose pieces stay). */
  private endControl(i: number, payload: Buffer): void {
    const op = this.opcode[i];
    if (op === OP_PING) {
      this.events.comment(i);
      this.events.reply(i, maskedFrame(OP_PONG, payload));
    } else if (op === OP_CLOSE) {
      // Answer the close handshake; the server then ends the connection (closedByPeer, as an SSE stream ending).
      this.events.reply(i, maskedFrame(OP_CLOSE, payload.subarray(0, 2)));
      this.phase[i] = P_DONE;
    }
  }

  /** What one whole message says: a count (its number) and whether it is the marker. */
  private read(payload: Buffer): { count: number; isMarker: boolean } {
    if (payload.length > 0 && payload[0] === 0x7b) return this.readJson(payload);
    // The message as published (nchan): a number is a count, the marker is the marker's bytes.
    let count = payload.length > 0 ? 0 : -1;
    for (let k = 0; k < payload.length && count >= 0; k++) {
      const c = payload[k];
      count = c >= 0x30 && c <= 0x39 ? count * 10 + (c - 0x30) : -1;
    }
    return { count, isMarker: this.marker !== null && payload.equals(this.marker) };
  }

  /** The daemon's JSON frames, read as the SSE line they stand for. */
  private readJson(payload: Buffer): { count: number; isMarker: boolean } {
    let m: unknown;
    try {
      m = JSON.parse(payload.toString('utf8'));
    } catch {
      return NOTHING;
    }
    if (typeof m !== 'object' || m === null) return NOTHING;
    const { type, members, event, data } = m as Record<string, unknown>;
    if (type === 'count' && typeof members === 'number') {
      return { count: members, isMarker: this.markerText !== null && String(members) === this.markerText };
    }
    if (type === 'message' && typeof event === 'string' && typeof data === 'string') {
      return { count: -1, isMarker: this.markerText !== null && `${event}=${data}` === this.markerText };
    }
    return NOTHING;
  }

  private failAt(i: number, buf: Buffer, code: string): number {
    this.fail(i, code);
    return buf.length;
  }
}

/** Stands for a message longer than MAX_KEPT (its bytes were not kept). */
const TOO_LONG = Buffer.alloc(0);
const NOTHING = { count: -1, isMarker: false } as const;
