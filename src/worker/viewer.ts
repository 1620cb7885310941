// One open stream. Kept to a few fields: a worker may hold tens of thousands of these.
import type { ExitReason } from '../protocol/sessions.js';
import type { Room } from './hub.js';

/** Where a stream's bytes go: a raw socket (the fast path) or a node:http response (the fallback). */
export interface StreamSink {
  write(frame: Buffer): boolean;
  end(): unknown;
  destroy(): unknown;
  readonly writableLength: number;
}

/** A viewer whose unsent bytes pass this has stopped reading; it is dropped rather than buffered forever. */
const MAX_BUFFERED_BYTES = 256 * 1024;

export class Viewer {
  /** Counted in its room's members (false while --increment-delay holds it back). */
  counted = false;
  /** Why the daemon ended this stream; undefined while it is open or when the client went away ('left'). */
  endedFor: ExitReason | undefined = undefined;

  constructor(
    readonly room: Room,
    readonly sink: StreamSink,
    /** ms since epoch */
    readonly openedAt: number,
    readonly uuid: string | undefined,
    /** The session id: the stream's first SSE `id:`, and how the primary names this stream. */
    readonly session: string,
  ) {}

  write(frame: Buffer): void {
    if (this.sink.writableLength > MAX_BUFFERED_BYTES) {
      this.sink.destroy();
      return;
    }
    this.sink.write(frame);
  }

  /** Ends the stream; the first reason given is the one recorded with the session's exit. */
  end(reason: ExitReason = 'left'): void {
    this.endedFor ??= reason;
    this.sink.end();
  }
}
