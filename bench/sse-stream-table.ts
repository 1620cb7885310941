// Incremental parser for many SSE-over-HTTP/1.1 responses at once, with a few typed-array slots per
// stream and no buffering of the body: status line and headers (held as a string only until the
// blank line), chunked or identity framing, and `data:` lines. It recognises numeric data lines
// (the audience count, kept as the last value) and one exact marker payload (`data: <marker>`).

export const F_CONNECTED = 1;
export const F_OK = 2; // 200 stream
export const F_FIRST = 4; // first data line received
export const F_DIGITS = 8; // current data line so far only digits
export const F_HIT = 16; // marker line received
export const F_CLOSED = 32;
export const F_OWN = 64; // closed by us (bad status, protocol error)

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
const MAX_HEAD = 16 * 1024;

export interface StreamEvents {
  /** Response head parsed; return false to stop parsing this stream (the caller closes it). */
  head(i: number, status: string): boolean;
  /** A complete `data:` line; `first` for the stream's first one, `marker` when its payload equals the marker. */
  dataLine(i: number, first: boolean, marker: boolean): void;
  /** A `:` comment line (keep-alive). */
  comment(i: number): void;
  /** Unparseable framing; parsing of this stream stops (the caller closes it). */
  protocolError(i: number, code: string): void;
}

export class StreamTable {
  readonly flags: Uint8Array;
  /** Last numeric `data:` line per stream, -1 before the first. */
  readonly lastCount: Float64Array;
  private readonly phase: Uint8Array;
  private readonly aux: Int32Array;
  // Line state: 0..4 = matched that many chars of "data:", 5 = matched "data:", 6+p = data line
  // whose payload matched p chars of the marker, -1 = line to ignore, -2 = other data line.
  private readonly lineState: Int32Array;
  private readonly num: Float64Array; // number being read on the current data line, -1 = none yet
  private readonly heads = new Map<number, string>(); // response heads still incomplete
  private marker: Buffer | null = null;

  constructor(readonly size: number, private readonly events: StreamEvents) {
    this.flags = new Uint8Array(size);
    this.lastCount = new Float64Array(size).fill(-1);
    this.phase = new Uint8Array(size);
    this.aux = new Int32Array(size);
    this.lineState = new Int32Array(size);
    this.num = new Float64Array(size).fill(-1);
  }

  /** Prepares slot i for a new stream. */
  open(i: number): void {
    this.flags[i] = F_DIGITS;
    this.phase[i] = P_HEAD;
    this.aux[i] = 0;
    this.lineState[i] = 0;
    this.num[i] = -1;
    this.lastCount[i] = -1;
  }

  /** Drops transient state of a closed stream. */
  close(i: number): void {
    this.flags[i] |= F_CLOSED;
    this.heads.delete(i);
  }

  /** Sets the marker payload to look for (null: none). */
  setMarker(payload: string | null): void {
    this.marker = payload === null ? null : Buffer.from(payload, 'utf8');
  }

  feed(i: number, buf: Buffer): void {
    let pos = 0;
    const len = buf.length;
    const aux = this.aux;
    while (pos < len) {
      switch (this.phase[i]) {
        case P_HEAD: {
          pos = this.feedHead(i, buf, pos);
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

  private fail(i: number, code: string): void {
    this.phase[i] = P_DONE;
    this.flags[i] |= F_OWN;
    this.heads.delete(i);
    this.events.protocolError(i, code);
  }

  private endChunkSize(i: number): void {
    this.phase[i] = this.aux[i] === 0 ? P_DONE : P_CH_DATA; // a zero-size chunk ends the stream
  }

  /** Consumes head bytes from buf[pos..]; returns the position after the head, -1 to stop. */
  private feedHead(i: number, buf: Buffer, pos: number): number {
    const before = this.heads.get(i) ?? '';
    const head = before + buf.toString('latin1', pos);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > MAX_HEAD) this.fail(i, 'EHEADTOOBIG');
      else this.heads.set(i, head);
      return -1;
    }
    this.heads.delete(i);
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 'garbled';
    if (status === '200') this.flags[i] |= F_OK;
    if (!this.events.head(i, status)) {
      this.phase[i] = P_DONE;
      this.flags[i] |= F_OWN;
      return -1;
    }
    const headers = head.slice(0, end + 2);
    this.phase[i] = /\r\ntransfer-encoding:[^\r]*chunked/i.test(headers) ? P_CH_SIZE : P_IDENTITY;
    this.aux[i] = 0;
    return pos + (end + 4 - before.length);
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
          if ((flags[i] & F_DIGITS) !== 0 && num[i] >= 0) this.lastCount[i] = num[i];
          const first = (flags[i] & F_FIRST) === 0;
          flags[i] |= F_FIRST;
          this.events.dataLine(i, first, marker !== null && s === 6 + markerLen);
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
