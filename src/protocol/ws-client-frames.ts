// A strict reader of the frames a browser sends a WebSocket viewer's connection (RFC 6455 section 5): pongs,
// close, ping, and page messages of at most MAX_CLIENT_MESSAGE_BYTES, whole or in fragments. No extension
// is ever negotiated, so any reserved bit is an error; every client frame must be masked.
//
// Why our own and not ws's `Receiver`: a connection spends its life idle between frames, and what it keeps
// then should be nothing. `Receiver` is a Writable stream (its own WritableState, buffers and listeners, about
// 0.4 KB per connection) with no public way to tell that it is between frames, so it could not be made only
// while bytes are in flight and dropped after without reading its private fields; it is also untyped
// (@types/ws has no `Receiver`), and it reports errors asynchronously through the stream. What we accept is
// small: a frame header, a mask, a payload under 1 KiB. Here a connection keeps a `ReaderCarry` only while a
// frame or a fragmented message is incomplete, and undefined otherwise. The checks are ws's (the same close
// codes: 1002 for protocol errors, 1007 for invalid UTF-8, 1009 for a message too big), decided as soon as a
// header shows them, before its payload is buffered.
import { isUtf8 } from 'node:buffer';
import { MAX_CLIENT_MESSAGE_BYTES, OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG } from './ws-frames.js';

const OPCODE_CONTINUATION = 0x0;
const OPCODE_BINARY = 0x2;
const MAX_CONTROL_PAYLOAD = 125;

export const PROTOCOL_ERROR = 1002;
export const INVALID_DATA = 1007;
export const MESSAGE_TOO_BIG = 1009;
export type ReaderFailure = typeof PROTOCOL_ERROR | typeof INVALID_DATA | typeof MESSAGE_TOO_BIG;

/** What a connection keeps between chunks, only while something is incomplete. */
export interface ReaderCarry {
  /** The start of a frame whose remaining bytes have not come yet (copied: never a view into a socket's chunk). */
  bytes: Buffer | undefined;
  /** The fragments so far of a message whose last frame has not come yet. */
  message: { binary: boolean; parts: Buffer[]; length: number } | undefined;
}

/** What the reader tells its owner, one shared object per worker; `target` is the connection. */
export interface ClientFrameHandlers<T> {
  /** A whole message: its text (valid UTF-8), or undefined for a binary one. False: stop reading. */
  message(target: T, text: string | undefined): boolean;
  ping(target: T, payload: Buffer): void;
  pong(target: T): void;
  /** A close frame: its code (undefined when it had none) and reason. Nothing is read after it. */
  close(target: T, code: number | undefined, reason: string): void;
  /** A frame broke the protocol or a limit: close with `code`. Nothing is read after it. */
  fail(target: T, code: ReaderFailure, reason: string): void;
}

/**
 * Reads `chunk` (after what `carry` kept): calls `on` for each complete frame, returns what to keep until the
 * next chunk (undefined: nothing pending) or 'stopped' after a close, a failure or a handler's false.
 */
export function readClientFrames<T>(chunk: Buffer, carry: ReaderCarry | undefined, on: ClientFrameHandlers<T>, target: T): ReaderCarry | undefined | 'stopped' {
  const bytes = carry?.bytes === undefined ? chunk : Buffer.concat([carry.bytes, chunk]);
  let message = carry?.message;
  let at = 0;
  while (bytes.length - at >= 2) {
    const left = bytes.length - at;
    const first = bytes[at]!;
    const second = bytes[at + 1]!;
    const fin = (first & 0x80) !== 0;
    const opcode = first & 0x0f;
    let length = second & 0x7f;
    let header = 2;
    if ((first & 0x70) !== 0) return failed(on, target, PROTOCOL_ERROR, 'reserved bits set (no extension was negotiated)');
    if ((second & 0x80) === 0) return failed(on, target, PROTOCOL_ERROR, 'a client frame must be masked');
    if (opcode >= OPCODE_CLOSE) {
      if (opcode > OPCODE_PONG) return failed(on, target, PROTOCOL_ERROR, `invalid opcode ${opcode}`);
      if (!fin) return failed(on, target, PROTOCOL_ERROR, 'a control frame must not be fragmented');
      if (length > MAX_CONTROL_PAYLOAD || (opcode === OPCODE_CLOSE && length === 1)) return failed(on, target, PROTOCOL_ERROR, `invalid control payload length ${length}`);
    } else {
      if (opcode === OPCODE_CONTINUATION ? message === undefined : opcode > OPCODE_BINARY || message !== undefined) {
        return failed(on, target, PROTOCOL_ERROR, `invalid opcode ${opcode}${message === undefined ? '' : ' inside a fragmented message'}`);
      }
      if (length === 126) {
        if (left < 4) break;
        length = bytes.readUInt16BE(at + 2);
        header = 4;
      } else if (length === 127) {
        if (left < 10) break;
        // Anything with the high word set is far over the limit; the low word alone decides the rest.
        length = bytes.readUInt32BE(at + 2) > 0 ? Number.MAX_SAFE_INTEGER : bytes.readUInt32BE(at + 6);
        header = 10;
      }
      if ((message?.length ?? 0) + length > MAX_CLIENT_MESSAGE_BYTES) return failed(on, target, MESSAGE_TOO_BIG, `a message over ${MAX_CLIENT_MESSAGE_BYTES} bytes`);
    }
    if (left < header + 4 + length) break;
    const payload = unmasked(bytes, at + header, length);
    at += header + 4 + length;

    if (opcode === OPCODE_PING) {
      on.ping(target, payload);
    } else if (opcode === OPCODE_PONG) {
      on.pong(target);
    } else if (opcode === OPCODE_CLOSE) {
      if (length === 0) {
        on.close(target, undefined, '');
        return 'stopped';
      }
      const code = payload.readUInt16BE(0);
      if (!isValidCloseCode(code)) return failed(on, target, PROTOCOL_ERROR, `invalid close code ${code}`);
      const reason = payload.subarray(2);
      if (!isUtf8(reason)) return failed(on, target, INVALID_DATA, 'a close reason that is not UTF-8');
      on.close(target, code, reason.toString('utf8'));
      return 'stopped';
    } else {
      // A data frame: a whole message, or a fragment of one.
      let whole: Buffer;
      let binary: boolean;
      if (message === undefined && fin) {
        whole = payload;
        binary = opcode === OPCODE_BINARY;
      } else {
        message ??= { binary: opcode === OPCODE_BINARY, parts: [], length: 0 };
        // An empty fragment adds nothing, and kept it would let a client grow `parts` without end for free.
        if (length > 0) message.parts.push(payload);
        message.length += length;
        if (!fin) continue;
        whole = Buffer.concat(message.parts, message.length);
        binary = message.binary;
        message = undefined;
      }
      if (!binary && !isUtf8(whole)) return failed(on, target, INVALID_DATA, 'a text message that is not UTF-8');
      if (!on.message(target, binary ? undefined : whole.toString('utf8'))) return 'stopped';
    }
  }
  if (at === bytes.length && message === undefined) return undefined;
  return { bytes: at === bytes.length ? undefined : Buffer.from(bytes.subarray(at)), message };
}

function failed<T>(on: ClientFrameHandlers<T>, target: T, code: ReaderFailure, reason: string): 'stopped' {
  on.fail(target, code, reason);
  return 'stopped';
}

/** The payload of length `length` after the 4-byte mask at `maskAt`, unmasked into a buffer of its own. */
function unmasked(bytes: Buffer, maskAt: number, length: number): Buffer {
  const payload = Buffer.allocUnsafe(length);
  const from = maskAt + 4;
  for (let i = 0; i < length; i++) payload[i] = bytes[from + i]! ^ bytes[maskAt + (i & 3)]!;
  return payload;
}

/** Close codes a peer may send (RFC 6455 section 7.4, as ws checks them). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}
