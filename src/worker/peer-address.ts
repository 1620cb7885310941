// What a socket keeps of its peer, given back once admission has read it (both raw paths: SSE and WebSocket).
import type { Socket } from 'node:net';

/**
 * node:net keeps the peer's address (an object and a string, ~90 bytes) on the socket for its whole life once
 * read; admission has read it for the session, and an idle stream never needs it again (a later read asks the
 * kernel anew).
 */
export function forgetPeerAddress(socket: Socket & { _peername?: unknown }): void {
  if (socket._peername !== undefined) socket._peername = undefined;
}
