// A viewer connected over WebSocket. Its frames are prebuilt Buffers shared by every WebSocket viewer of
// the namespace, sent as text frames without re-encoding (ws frames a Buffer as is when the server does not
// mask, and it never does). The few extra fields serve the per-worker ping and the page-message rate limit.
import type { WebSocket } from 'ws';
import type { ExitReason } from '../protocol/sessions.js';
import { wsCountFrame } from '../protocol/ws-frames.js';
import type { Room } from './hub.js';
import type { Push } from './push.js';
import { MAX_BUFFERED_BYTES, Viewer } from './viewer.js';

/** One options object for every send: a Buffer as a text frame (ws would send a Buffer as binary). */
const AS_TEXT = { binary: false } as const;

export class WsViewer extends Viewer {
  /** Answered the last ping (or not pinged yet); the ping sweep terminates a socket that did not. */
  alive = true;
  /** Page messages received in rate window `pageWindow`. */
  pages = 0;
  pageWindow = 0;

  constructor(room: Room, readonly socket: WebSocket, openedAt: number, uuid: string | undefined, session: string) {
    super(room, openedAt, uuid, session);
  }

  get transport(): 'ws' {
    return 'ws';
  }

  send(push: Push): boolean {
    if (this.endedFor !== undefined) return false;
    const frame = push.ws();
    return frame !== undefined && this.write(frame);
  }

  sendFirstCount(members: number): void {
    this.write(wsCountFrame(members));
  }

  protected close(): void {
    this.socket.close(closeCodeFor(this.endedFor));
  }

  private write(frame: Buffer): boolean {
    if (this.socket.readyState !== this.socket.OPEN) return false;
    if (this.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      // It stopped reading: a close handshake would queue behind the same unsent bytes.
      this.socket.terminate();
      return false;
    }
    this.socket.send(frame, AS_TEXT);
    return true;
  }
}

/** 1001 (going away) when the daemon stops, so clients reconnect elsewhere; else a normal closure. */
function closeCodeFor(reason: ExitReason | undefined): number {
  return reason === 'shutdown' ? 1001 : 1000;
}
