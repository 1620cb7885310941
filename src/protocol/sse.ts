// Server-Sent Events frames. Each frame is encoded once and the same Buffer is written to every viewer.

export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  'Access-Control-Allow-Origin': '*',
  Connection: 'keep-alive',
  // Proxies such as nginx buffer responses unless told not to; a buffered count is a late count.
  'X-Accel-Buffering': 'no',
});

/** A comment line: ignored by EventSource, keeps idle streams alive through proxies. */
export const KEEPALIVE_FRAME: Buffer = Buffer.from(':\n\n');

export function countFrame(members: number): Buffer {
  return Buffer.from(`data: ${members}\n\n`);
}

/**
 * How long a browser waits before reopening a lost stream (the `retry:` field), drawn per connection between
 * these bounds: viewers cut off together (a restart, a proxy reloading) then come back spread over seconds
 * instead of in one burst. EventSource's own default is a few seconds, so this delays no one much.
 */
export const RETRY_MIN_MS = 1000;
export const RETRY_MAX_MS = 5000;

/** A reconnection delay for one stream, uniform in [RETRY_MIN_MS, RETRY_MAX_MS). */
export function drawRetryMs(random: number = Math.random()): number {
  return RETRY_MIN_MS + Math.floor(random * (RETRY_MAX_MS - RETRY_MIN_MS));
}

/**
 * A stream's first count, carrying its session id and its reconnection delay: EventSource keeps the id as the
 * last event id (later events have none) and sends it back as Last-Event-ID when it reconnects, `retry`
 * milliseconds after losing the stream. This frame is made per connection anyway, so the per-connection
 * jitter costs no extra encoding; every later frame stays one buffer for all. After `responseHead` when the
 * transport left the response head to go out with it.
 */
export function firstCountFrame(members: number, id: string, retryMs: number, responseHead?: Buffer): Buffer {
  const frame = `retry: ${retryMs}\nid: ${id}\ndata: ${members}\n\n`;
  if (responseHead === undefined) return Buffer.from(frame);
  // The raw fast path's response head and the first frame in one buffer: one write, no cork and writev.
  // Session ids are base64url and counts digits, so the frame is ASCII: one byte per character.
  const bytes = Buffer.allocUnsafe(responseHead.length + frame.length);
  responseHead.copy(bytes, 0);
  bytes.write(frame, responseHead.length, 'latin1');
  return bytes;
}

/**
 * A message frame. Data with line breaks becomes several `data:` lines, which EventSource joins with '\n',
 * so no message can forge another event.
 */
export function messageFrame(data: string, event?: string): Buffer {
  const lines = data.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`).join('');
  return Buffer.from(event ? `event: ${event}\n${lines}\n` : `${lines}\n`);
}
