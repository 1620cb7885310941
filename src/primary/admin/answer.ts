// How the admin port says no. Under /api/ every error is JSON, `{"error": "one line"}`, whichever route or
// check refused the request; elsewhere (the 2.x notification route, the admin page, /metrics) the answer
// stays the plain status and line that 2.x scripts read. One function decides, from the request's path, so
// no route can answer an API caller in the wrong form.
import type { ServerResponse } from 'node:http';
import { answer as plainAnswer } from '../../http-answer.js';
import { pathSegments } from '../../protocol/namespace.js';

/** The first path segment that belongs to the API: no notification route ever takes it. */
export const API_SEGMENT = 'api';

export function isApiPath(target: string): boolean {
  return pathSegments(target)[0] === API_SEGMENT;
}

export function answer(res: ServerResponse, status: number, reason = '', headers: Record<string, string> = {}): void {
  if (status < 400 || !isApiPath(res.req.url ?? '/')) return plainAnswer(res, status, reason, headers);
  const body = `${JSON.stringify({ error: reason || `status ${status}` })}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}
