// Refusals written on the raw socket of the stream fast path: a complete HTTP response, encoded once per
// status and reason. Reasons come from a small fixed set (admission.ts, identity.ts), so the cache stays small.

const STATUS_TEXT: Record<number, string> = { 204: 'No Content', 401: 'Unauthorized' };
const MAX_CACHED = 64;
const encoded = new Map<string, Buffer>();

export function rawAnswer(status: 204 | 401, reason: string): Buffer {
  const key = `${status} ${reason}`;
  let bytes = encoded.get(key);
  if (bytes === undefined) {
    bytes = encode(status, reason);
    if (encoded.size < MAX_CACHED) encoded.set(key, bytes);
  }
  return bytes;
}

function encode(status: number, reason: string): Buffer {
  // 204 has no body by definition; a 401 tells why in one line.
  const body = status === 204 ? '' : `${reason}\n`;
  const headers = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}`,
    'Access-Control-Allow-Origin: *',
    ...(status === 204 ? [] : ['Content-Type: text/plain; charset=utf-8', `Content-Length: ${Buffer.byteLength(body)}`]),
    'Connection: close',
  ];
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body}`);
}
