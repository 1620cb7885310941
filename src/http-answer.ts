// Small HTTP answers shared by the primary's servers: a status and a one-line reason.
import type { ServerResponse } from 'node:http';

export function answer(res: ServerResponse, status: number, reason = '', headers: Record<string, string> = {}): void {
  const body = reason ? `${reason}\n` : '';
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
