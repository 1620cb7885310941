// WebSocket frames the daemon sends viewers: JSON text, one object per frame. Like SSE frames, each is
// encoded and framed once into a Buffer that is then written, unchanged, to every WebSocket viewer it concerns.
//
//   {"type":"count","members":N}
//   {"type":"message","event":E,"data":D}
//   {"type":"expelled","reason":R}
//
// A viewer may send one kind of message: {"type":"page","page":"/path"} (its single-page app navigated).
//
// Framing (RFC 6455 section 5.2) is done here rather than by ws's `Sender.frame()`: a server's frame is a
// 2-, 4- or 10-byte header before the payload (never masked, no extension bits), and `Sender.frame()` is not in
// ws's typed, documented API (@types/ws has no `Sender`) and returns the header and payload as two buffers,
// which would need a copy anyway to become the one buffer every socket is written.
import { CONTROL_CHARACTER } from './namespace.js';

export const OPCODE_TEXT = 0x1;
export const OPCODE_CLOSE = 0x8;
export const OPCODE_PING = 0x9;
export const OPCODE_PONG = 0xa;

/** The header's size before a payload of `length` bytes: 7-, 16- or 64-bit length. */
function headerLength(length: number): number {
  return length < 126 ? 2 : length < 65_536 ? 4 : 10;
}

/** Writes a final, unmasked frame header at `at` of `bytes`; returns where the payload starts. */
function writeHeader(bytes: Buffer, at: number, opcode: number, length: number): number {
  bytes[at] = 0x80 | opcode;
  if (length < 126) {
    bytes[at + 1] = length;
    return at + 2;
  }
  if (length < 65_536) {
    bytes[at + 1] = 126;
    bytes.writeUInt16BE(length, at + 2);
    return at + 4;
  }
  bytes[at + 1] = 127;
  bytes.writeUInt32BE(Math.floor(length / 2 ** 32), at + 2);
  bytes.writeUInt32BE(length >>> 0, at + 6);
  return at + 10;
}

/** One whole server frame: `payload` after its header, in one buffer, `before` (a response head) first if given. */
export function serverFrame(opcode: number, payload: Buffer, before?: Buffer): Buffer {
  const start = before?.length ?? 0;
  const bytes = Buffer.allocUnsafe(start + headerLength(payload.length) + payload.length);
  before?.copy(bytes, 0);
  payload.copy(bytes, writeHeader(bytes, start, opcode, payload.length));
  return bytes;
}

export function textFrame(json: string, before?: Buffer): Buffer {
  return serverFrame(OPCODE_TEXT, Buffer.from(json), before);
}

export function wsCountFrame(members: number, before?: Buffer): Buffer {
  return textFrame(`{"type":"count","members":${members}}`, before);
}

export function wsMessageFrame(event: string, data: string): Buffer {
  return textFrame(JSON.stringify({ type: 'message', event, data }));
}

export function wsExpelledFrame(reason: string): Buffer {
  return textFrame(JSON.stringify({ type: 'expelled', reason }));
}

/** The sweep's ping, the same empty frame for every viewer. */
export const PING_FRAME: Buffer = serverFrame(OPCODE_PING, Buffer.alloc(0));

/** A close frame: the code, then the reason (a control frame's payload is at most 125 bytes). */
export function closeFrame(code: number, reason = ''): Buffer {
  const text = Buffer.from(reason).subarray(0, 123);
  const payload = Buffer.allocUnsafe(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return serverFrame(OPCODE_CLOSE, payload);
}

/** The answer to a close frame without a code (RFC 6455: an empty close frame back). */
export const EMPTY_CLOSE_FRAME: Buffer = serverFrame(OPCODE_CLOSE, Buffer.alloc(0));

/** Longest page a viewer may report (the whole message is capped at MAX_CLIENT_MESSAGE_BYTES too). */
export const MAX_PAGE_LENGTH = 1024;
export const MAX_CLIENT_MESSAGE_BYTES = 1024;

/** The page a client message reports, or undefined when the message is not a well-formed page message. */
export function parsePageMessage(text: string): string | undefined {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof message !== 'object' || message === null) return undefined;
  const { type, page } = message as Record<string, unknown>;
  if (type !== 'page' || typeof page !== 'string' || page.length === 0 || page.length > MAX_PAGE_LENGTH
    || CONTROL_CHARACTER.test(page)) return undefined;
  return page;
}
