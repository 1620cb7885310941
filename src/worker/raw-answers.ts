// Refusals written on a raw socket (the stream fast path, or a refused WebSocket upgrade on either path), and
// the probes' answers (probes.ts): a complete HTTP response, encoded once per status and reason. Reasons come
// from small fixed sets (admission.ts, identity.ts, routes.ts, ws-handshake.ts), so the cache stays small.
import type { Socket } from 'node:net';

const STATUS_TEXT = { 200: 'OK', 204: 'No Content', 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 405: 'Method Not Allowed', 503: 'Service Unavailable' };
export type RawStatus = keyof typeof STATUS_TEXT;

export function isRawStatus(status: number): status is RawStatus {
  return Object.hasOwn(STATUS_TEXT, status);
}
const MAX_CACHED = 64;
const encoded = new Map<string, Buffer>();

export function rawAnswer(status: RawStatus, reason: string): Buffer {
  const key = `${status} ${reason}`;
  let bytes = encoded.get(key);
  if (bytes === undefined) {
    bytes = encode(status, reason);
    if (encoded.size < MAX_CACHED) encoded.set(key, bytes);
  }
  return bytes;
}

/**
 * Writes a refusal and ends the connection once it is sent: every answer here says `Connection: close`, and
 * the socket is not read again, so a client that keeps sending cannot hold it open.
 */
export function answerAndClose(socket: Socket, answer: Buffer): void {
  socket.write(answer);
  socket.destroySoon();
}

/** An answer with more header lines (`Name: value`), not cached: its caller keeps the few it makes. */
export function rawAnswerWith(status: RawStatus, reason: string, headerLines: string[] = []): Buffer {
  return encode(status, reason, headerLines);
}

function encode(status: RawStatus, reason: string, headerLines: string[] = []): Buffer {
  // 204 has no body by definition; a 401 tells why in one line.
  const body = status === 204 ? '' : `${reason}\n`;
  const headers = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}`,
    'Access-Control-Allow-Origin: *',
    ...(status === 204 ? [] : ['Content-Type: text/plain; charset=utf-8', `Content-Length: ${Buffer.byteLength(body)}`]),
    ...headerLines,
    'Connection: close',
  ];
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body}`);
}
