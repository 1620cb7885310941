// node:http's parser takes more than the HTTP/1.x the daemon speaks: a request line without a version
// (HTTP/0.9, `GET /ns`) or with `HTTP/2.0` becomes a request it would serve with `HTTP/1.1 200`, on the first
// request of a connection or on any later one (keep-alive, pipelining); and a CONNECT, with no 'connect'
// listener, is closed without a word. Every node:http server of the daemon (the public port's fallback, the
// admin port, the demo port) refuses those the same way, so the fast path's rule (request-head.ts) holds on
// every request, not only on a connection's first.
import type { IncomingMessage, Server } from 'node:http';

export const NOT_HTTP1_REQUEST = 'not an HTTP/1.x request (the request line must end with HTTP/1.0 or HTTP/1.1)';

/** Why a request node:http parsed is not one the daemon serves (400), or undefined. */
export function versionProblem(req: IncomingMessage): string | undefined {
  return req.httpVersionMajor === 1 ? undefined : NOT_HTTP1_REQUEST;
}

/** Answers CONNECT (a proxy's method, never the daemon's) with 405 and closes, instead of a silent close. */
export function refuseConnect(server: Server, allow: string): void {
  const body = 'CONNECT is not supported here\n';
  const answer = `HTTP/1.1 405 Method Not Allowed\r\nAllow: ${allow}\r\nContent-Type: text/plain; charset=utf-8\r\n`
    + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
  server.on('connect', (_req: IncomingMessage, socket: { end(data: string): void }) => socket.end(answer));
}
