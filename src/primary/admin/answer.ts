// How the admin port says no. Under /api/ every error is JSON, `{"error": "one line"}`, whichever route or
// check refused the request; elsewhere (the 2.x notification route, the admin page, /metrics) the answer
// stays the plain status and line that 2.x scripts read. One function decides, from the request's path, so
// no route can answer an API caller in the wrong form.
import type { ServerResponse } from 'node:http';
import { answer as plainAnswer } from '../../http-answer.js';
import { pathSegments } from '../../protocol/namespace.js';

/** The first path segment that belongs to the API: no notification route ever takes it. */
export const API_SEGMENT = 'api';

/**
 * Whether a raw (still percent-encoded) first segment is the API's: `%61pi` and `ap%69` name the same path
 * (RFC 3986 § 6.2.2.2) and would otherwise reach the notification route as the namespace `api`.
 */
export function isApiSegment(raw: string | undefined): boolean {
  if (raw === undefined || raw.length < API_SEGMENT.length) return false;
  try {
    return decodeURIComponent(raw) === API_SEGMENT;
  } catch {
    return false;
  }
}

export function isApiPath(target: string): boolean {
  return isApiSegment(pathSegments(target)[0]);
}

export function answer(res: ServerResponse, status: number, reason = '', headers: Record<string, string> = {}): void {
  if (status < 400 || !isApiPath(res.req.url ?? '/')) return plainAnswer(res, status, reason, headers);
  const body = `${JSON.stringify({ error: reason || `status ${status}` })}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}
