// A viewer connected over WebSocket, on its raw socket. Its frames are whole, prebuilt Buffers (header and
// payload) shared by every WebSocket viewer of the namespace and written as they are, as SSE frames are: no
// per-send framing, no per-connection ws objects. The few extra fields serve the per-worker ping, the
// page-message rate limit, and the client-frame reader while a frame is incomplete.
import type { ReaderCarry } from '../protocol/ws-client-frames.js';
import { closeFrame, EMPTY_CLOSE_FRAME, OPCODE_PONG, PING_FRAME, serverFrame, wsCountFrame } from '../protocol/ws-frames.js';
import type { Room } from './hub.js';
import type { Push } from './push.js';
import { MAX_BUFFERED_BYTES, Viewer, type StreamSink } from './viewer.js';

/** The upgraded socket, as a viewer uses it. */
export interface WsSink extends StreamSink {
  /** Set once our side is ended (a close frame went out last): nothing may be written after it. */
  readonly writableEnded: boolean;
}

const NORMAL_CLOSURE = closeFrame(1000);
/** When the daemon stops, so clients reconnect elsewhere. */
const GOING_AWAY = closeFrame(1001);

export class WsViewer extends Viewer {
  /** Answered the last ping (or not pinged yet); the ping sweep terminates a socket that did not. */
  alive = true;
  /** Page messages received in rate window `pageWindow`. */
  pages = 0;
  pageWindow = 0;
  /** An incomplete client frame or message; undefined between frames (nearly always). */
  carry: ReaderCarry | undefined = undefined;

  constructor(room: Room, readonly socket: WsSink, openedAt: number, uuid: string | undefined, session: string) {
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

  /** The first count, after the 101 head: one buffer, one write. */
  sendFirstCount(members: number, responseHead?: Buffer): void {
    this.write(wsCountFrame(members, responseHead));
  }

  ping(): void {
    if (this.endedFor === undefined) this.write(PING_FRAME);
  }

  /** A client's ping is answered with its payload (RFC 6455 section 5.5.3). */
  pong(payload: Buffer): void {
    if (this.endedFor === undefined) this.write(serverFrame(OPCODE_PONG, payload));
  }

  /** The client closed (code undefined: its frame had none): the closing handshake is completed, code echoed. */
  answerClose(code: number | undefined): void {
    this.endedFor ??= 'left';
    this.closeWith(code === undefined ? EMPTY_CLOSE_FRAME : closeFrame(code));
  }

  /** A client broke the protocol or the message policy: closed with `code`, recorded as the client leaving. */
  refuse(code: number, reason: string): void {
    this.endedFor ??= 'left';
    this.closeWith(closeFrame(code, reason));
  }

  /** Gone without a closing handshake (a dead peer, or a close that was never answered). */
  terminate(): void {
    this.socket.destroy();
  }

  protected close(): void {
    this.closeWith(this.endedFor === 'shutdown' ? GOING_AWAY : NORMAL_CLOSURE);
  }

  /**
   * The close frame is the last frame; our side ends after it. The socket is gone once the client's side ends
   * too (it answers with its own close and ends); the ping sweep destroys it if the client never does.
   */
  private closeWith(frame: Buffer): void {
    if (this.socket.writableEnded) return;
    this.carry = undefined;
    if (this.socket.writableLength > MAX_BUFFERED_BYTES) {
      // It stopped reading: a close frame would queue behind the same unsent bytes.
      this.socket.destroy();
      return;
    }
    this.socket.write(frame);
    this.socket.end();
  }

  private write(frame: Buffer): boolean {
    if (this.socket.writableEnded) return false;
    if (this.socket.writableLength > MAX_BUFFERED_BYTES) {
      // It stopped reading: dropped rather than buffered forever.
      this.socket.destroy();
      return false;
    }
    this.socket.write(frame);
    return true;
  }
}
