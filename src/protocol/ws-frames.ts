// WebSocket frames the daemon sends viewers: JSON text, one object per frame. Like SSE frames, each is
// encoded once into a Buffer that is then sent, unchanged, to every WebSocket viewer it concerns.
//
//   {"type":"count","members":N}
//   {"type":"message","event":E,"data":D}
//   {"type":"expelled","reason":R}
//
// A viewer may send one kind of message: {"type":"page","page":"/path"} (its single-page app navigated).
import { CONTROL_CHARACTER } from './namespace.js';

export function wsCountFrame(members: number): Buffer {
  return Buffer.from(`{"type":"count","members":${members}}`);
}

export function wsMessageFrame(event: string, data: string): Buffer {
  return Buffer.from(JSON.stringify({ type: 'message', event, data }));
}

export function wsExpelledFrame(reason: string): Buffer {
  return Buffer.from(JSON.stringify({ type: 'expelled', reason }));
}

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
