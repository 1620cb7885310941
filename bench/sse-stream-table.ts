// Incremental parser for many SSE-over-HTTP/1.1 responses at once, with a few typed-array slots per
// stream and no buffering of the body: status line and headers (viewer-table.ts), chunked or identity
// framing, and `data:` lines. It recognises numeric data lines (the audience count, kept as the last
// value) and one exact marker payload (`data: <marker>`); each data line is one message to ViewerTable.
import { F_DIGITS, type StreamEvents, ViewerTable } from './viewer-table.js';

const P_HEAD = 0;
const P_CH_SIZE = 1; // reading a chunk-size line (hex digits)
const P_CH_EXT = 2; // skipping a chunk extension up to LF
const P_CH_DATA = 3; // inside chunk data, aux = bytes left
const P_CH_END = 4; // skipping the CRLF after chunk data
const P_IDENTITY = 5; // body without chunked framing
const P_DONE = 6; // last chunk seen or stream unusable

const DATA = [0x64, 0x61, 0x74, 0x61, 0x3a]; // "data:"
const LF = 0x0a;
const CR = 0x0d;

export class SseStreamTable extends ViewerTable {
  private readonly phase: Uint8Array;
  private readonly aux: Int32Array;
  // Line state: 0..4 = matched that many chars of "data:", 5 = matched "data:", 6+p = data line
  // whose payload matched p chars of the marker, -1 = line to ignore, -2 = other data line.
  private readonly lineState: Int32Array;
  private readonly num: Float64Array; // number being read on the current data line, -1 = none yet

  constructor(size: number, events: StreamEvents) {
    super(size, events, '200');
    this.phase = new Uint8Array(size);
    this.aux = new Int32Array(size);
    this.lineState = new Int32Array(size);
    this.num = new Float64Array(size).fill(-1);
  }

  /** Prepares slot i for a new stream. */
  override open(i: number): void {
    super.open(i);
    this.phase[i] = P_HEAD;
    this.aux[i] = 0;
    this.lineState[i] = 0;
    this.num[i] = -1;
  }

  feed(i: number, buf: Buffer): void {
    let pos = 0;
    const len = buf.length;
    const aux = this.aux;
    while (pos < len) {
      switch (this.phase[i]) {
        case P_HEAD: {
          pos = this.feedSseHead(i, buf, pos);
          if (pos < 0) return;
          break;
        }
        case P_CH_SIZE: {
          const c = buf[pos++];
          const v = hexValue(c);
          if (v >= 0) {
            aux[i] = aux[i] * 16 + v;
            if (aux[i] > 1 << 26) return this.fail(i, 'ECHUNKSIZE');
          } else if (c === 0x3b) this.phase[i] = P_CH_EXT;
          else if (c === LF) this.endChunkSize(i);
          else if (c !== CR && c !== 0x20 && c !== 0x09) return this.fail(i, 'ECHUNKSIZE');
          break;
        }
        case P_CH_EXT:
          if (buf[pos++] === LF) this.endChunkSize(i);
          break;
        case P_CH_DATA: {
          const n = Math.min(aux[i], len - pos);
          this.feedLines(i, buf, pos, pos + n);
          pos += n;
          aux[i] -= n;
          if (aux[i] === 0) this.phase[i] = P_CH_END;
          break;
        }
        case P_CH_END:
          if (buf[pos++] === LF) {
            this.phase[i] = P_CH_SIZE;
            aux[i] = 0;
          }
          break;
        case P_IDENTITY:
          this.feedLines(i, buf, pos, len);
          pos = len;
          break;
        default:
          return; // P_DONE: ignore anything after the last chunk
      }
    }
  }

  protected override fail(i: number, code: string): void {
    this.phase[i] = P_DONE;
    super.fail(i, code);
  }

  private endChunkSize(i: number): void {
    this.phase[i] = this.aux[i] === 0 ? P_DONE : P_CH_DATA; // a zero-size chunk ends the stream
  }

  /** Consumes head bytes from buf[pos..]; returns the position after the head, -1 to stop. */
  private feedSseHead(i: number, buf: Buffer, pos: number): number {
    const r = this.feedHead(i, buf, pos);
    if (!('head' in r)) {
      if (r.stopped) this.phase[i] = P_DONE;
      return -1;
    }
    this.phase[i] = /\r\ntransfer-encoding:[^\r]*chunked/i.test(r.head.headers) ? P_CH_SIZE : P_IDENTITY;
    this.aux[i] = 0;
    return r.next;
  }

  private feedLines(i: number, buf: Buffer, from: number, to: number): void {
    const marker = this.marker;
    const markerLen = marker === null ? 0 : marker.length;
    const flags = this.flags;
    const num = this.num;
    let s = this.lineState[i];
    for (let k = from; k < to; k++) {
      const c = buf[k];
      if (c === CR) continue; // CRLF and LF both end a line
      if (c === LF) {
        if (s === 5 || s >= 6 || s === -2) {
          this.delivered(i, (flags[i] & F_DIGITS) !== 0 ? num[i] : -1, marker !== null && s === 6 + markerLen);
        }
        num[i] = -1;
        flags[i] |= F_DIGITS;
        s = 0;
        continue;
      }
      if (s === -1) continue;
      if (s >= 0 && s < 5) {
        if (c === DATA[s]) s++;
        else {
          if (s === 0 && c === 0x3a) this.events.comment(i);
          s = -1;
        }
        continue;
      }
      if (s === 5) {
        s = 6;
        if (c === 0x20) continue; // the one optional space after "data:"
      }
      // payload byte
      if ((flags[i] & F_DIGITS) !== 0) {
        if (c >= 0x30 && c <= 0x39) num[i] = (num[i] < 0 ? 0 : num[i] * 10) + (c - 0x30);
        else flags[i] &= ~F_DIGITS;
      }
      if (s >= 6) {
        const p = s - 6;
        s = marker !== null && p < markerLen && marker[p] === c ? s + 1 : -2;
      }
    }
    this.lineState[i] = s;
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
