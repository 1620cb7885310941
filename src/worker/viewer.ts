// One open connection of a viewer, over SSE or WebSocket. Kept to a few fields: a worker may hold tens of
// thousands of these. What differs by transport is in the two subclasses' methods (on their prototypes),
// so a viewer carries no closure and no per-connection timer.
import type { ExitReason } from '../protocol/sessions.js';
import { drawRetryMs, firstCountFrame } from '../protocol/sse.js';
import type { Room } from './hub.js';
import type { Push } from './push.js';

/** Where a stream's bytes go: a raw socket (the fast path) or a node:http response (the fallback). */
export interface StreamSink {
  write(frame: Buffer): boolean;
  end(): unknown;
  destroy(): unknown;
  readonly writableLength: number;
}

/** A viewer whose unsent bytes pass this has stopped reading; it is dropped rather than buffered forever. */
export const MAX_BUFFERED_BYTES = 256 * 1024;

export abstract class Viewer {
  /** Counted in its room's members (false while --increment-delay holds it back). */
  counted = false;
  /** Why the daemon ended this connection; undefined while it is open or when the client went away ('left'). */
  endedFor: ExitReason | undefined = undefined;
  /** This worker's number for the connection (its connection id is made from it): -1 until its session starts. */
  connection = -1;
  /** The second (since epoch) at which --max-conn-duration ends this connection; 0 when it never does. Set by Lifetimes. */
  endsAtSecond = 0;

  constructor(
    readonly room: Room,
    /** ms since epoch */
    readonly openedAt: number,
    readonly uuid: string | undefined,
    /** The session id: an SSE stream's first `id:`, and how the primary names this connection's session. */
    readonly session: string,
  ) {}

  abstract get transport(): 'sse' | 'ws';

  /** Writes the push in this viewer's format; false when nothing was written (ended, or dropped as too slow). */
  abstract send(push: Push): boolean;

  /**
   * The first frame: the count including this viewer (over SSE, with the session id), after `responseHead`
   * when the transport left the response head to go out with it.
   */
  abstract sendFirstCount(members: number, responseHead?: Buffer): void;

  /** Ends the connection; the first reason given is the one recorded with the session's exit. */
  end(reason: ExitReason = 'left'): void {
    this.endedFor ??= reason;
    this.close();
  }

  protected abstract close(): void;
}

export class SseViewer extends Viewer {
  constructor(room: Room, readonly sink: StreamSink, openedAt: number, uuid: string | undefined, session: string) {
    super(room, openedAt, uuid, session);
  }

  get transport(): 'sse' {
    return 'sse';
  }

  send(push: Push): boolean {
    if (this.endedFor !== undefined) return false;
    if (this.sink.writableLength > MAX_BUFFERED_BYTES) {
      this.sink.destroy();
      return false;
    }
    this.sink.write(push.sse());
    return true;
  }

  sendFirstCount(members: number, responseHead?: Buffer): void {
    this.sink.write(firstCountFrame(members, this.session, drawRetryMs(), responseHead));
  }

  protected close(): void {
    this.sink.end();
  }
}
