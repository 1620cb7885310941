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
 * A stream's first count, carrying its session id: EventSource keeps it as the last event id (later events
 * have none) and sends it back as Last-Event-ID when it reconnects.
 */
export function firstCountFrame(members: number, id: string): Buffer {
  return Buffer.from(`id: ${id}\ndata: ${members}\n\n`);
}

/**
 * A message frame. Data with line breaks becomes several `data:` lines, which EventSource joins with '\n',
 * so no message can forge another event.
 */
export function messageFrame(data: string, event?: string): Buffer {
  const lines = data.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`).join('');
  return Buffer.from(event ? `event: ${event}\n${lines}\n` : `${lines}\n`);
}
