// What the load generator keeps per viewer, whatever the wire format: a few typed-array slots per stream, the
// HTTP response head (held as a string only until its blank line), and the counting of what arrives. Each wire
// format's parser (sse-stream-table.ts: `data:` lines; ws-stream-table.ts: WebSocket frames) extends this and
// calls delivered() once per message, so "first event", the last count and the probe marker mean the same
// thing over SSE and WebSocket.

export const F_CONNECTED = 1;
export const F_OK = 2; // the server accepted the stream (200 for SSE, 101 for a WebSocket upgrade)
export const F_FIRST = 4; // first message received
export const F_DIGITS = 8; // SSE: current data line so far only digits
export const F_HIT = 16; // marker message received
export const F_CLOSED = 32;
export const F_OWN = 64; // closed by us (bad status, protocol error)

const MAX_HEAD = 16 * 1024;

export interface StreamEvents {
  /** Response head parsed; `ok` when the server accepted the stream. Return false to stop parsing this stream (the caller closes it). */
  head(i: number, status: string, ok: boolean): boolean;
  /** A complete message (an SSE `data:` line, a WebSocket text or binary message); `first` for the stream's first one, `marker` when its payload equals the marker. */
  dataLine(i: number, first: boolean, marker: boolean): void;
  /** A keep-alive: an SSE `:` comment line, a WebSocket ping. */
  comment(i: number): void;
  /** Bytes the protocol requires the viewer to send back (a WebSocket pong). */
  reply(i: number, bytes: Buffer): void;
  /** Unparseable framing; parsing of this stream stops (the caller closes it). */
  protocolError(i: number, code: string): void;
}

/** A parsed response head: its status and its header block (lines up to and including the last CRLF). */
export interface ResponseHead {
  status: string;
  headers: string;
}

export abstract class ViewerTable {
  readonly flags: Uint8Array;
  /** Last count message per stream (a number; the daemon's count over WebSocket), -1 before the first. */
  readonly lastCount: Float64Array;
  private readonly heads = new Map<number, string>(); // response heads still incomplete
  protected marker: Buffer | null = null;

  /** `okStatus`: the status with which the server accepts a stream of this wire format. */
  constructor(readonly size: number, protected readonly events: StreamEvents, private readonly okStatus: string) {
    this.flags = new Uint8Array(size);
    this.lastCount = new Float64Array(size).fill(-1);
  }

  /** Prepares slot i for a new stream. */
  open(i: number): void {
    this.flags[i] = F_DIGITS;
    this.lastCount[i] = -1;
    this.heads.delete(i);
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

  abstract feed(i: number, buf: Buffer): void;

  /**
   * One whole message arrived on stream i: `count` is its number when it is a count (else -1), `isMarker` whether it
   * is the marker. The one place a message is counted, for every wire format.
   */
  protected delivered(i: number, count: number, isMarker: boolean): void {
    if (count >= 0) this.lastCount[i] = count;
    const first = (this.flags[i] & F_FIRST) === 0;
    this.flags[i] |= F_FIRST;
    this.events.dataLine(i, first, isMarker);
  }

  /** Stops parsing stream i: the caller closes it. */
  protected fail(i: number, code: string): void {
    this.flags[i] |= F_OWN;
    this.heads.delete(i);
    this.events.protocolError(i, code);
  }

  /**
   * Consumes response-head bytes from buf[pos..]. Returns the head and the position just after it, or undefined
   * when the head is not complete yet (kept for the next chunk), too big, or refused by the `head` event (the
   * stream is then the caller's to close, and `stopped` is true).
   */
  protected feedHead(i: number, buf: Buffer, pos: number): { head: ResponseHead; next: number } | { stopped: boolean } {
    const before = this.heads.get(i) ?? '';
    const text = before + buf.toString('latin1', pos);
    const end = text.indexOf('\r\n\r\n');
    if (end < 0) {
      if (text.length > MAX_HEAD) {
        this.fail(i, 'EHEADTOOBIG');
        return { stopped: true };
      }
      this.heads.set(i, text);
      return { stopped: false };
    }
    this.heads.delete(i);
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 'garbled';
    const headers = text.slice(0, end + 2);
    const ok = status === this.okStatus;
    const problem = ok ? this.headProblem(headers) : undefined;
    if (problem !== undefined) {
      this.fail(i, problem);
      return { stopped: true };
    }
    if (ok) this.flags[i] |= F_OK;
    if (!this.events.head(i, status, ok)) {
      this.flags[i] |= F_OWN;
      return { stopped: true };
    }
    return { head: { status, headers }, next: pos + (end + 4 - before.length) };
  }

  /** What is wrong with an accepting head's headers for this wire format (an error code), or undefined. */
  protected headProblem(_headers: string): string | undefined {
    return undefined;
  }
}
