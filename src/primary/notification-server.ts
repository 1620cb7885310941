// The 2.x notification port: GET /{namespace}/{service}/{message} sends `data: {service}={message}` to
// every viewer of the namespace, at once, on every worker and every node. Service and message go out exactly
// as they arrived in the path (percent-encoded, as 2.x sent them); the namespace is decoded like the public
// port's. GET /api/peers describes the other nodes of the cluster (two segments: never a notification).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { decodeName, pathSegments } from '../protocol/namespace.js';
import { bearerChecker } from './admin-auth.js';
import { answer } from '../http-answer.js';
import type { PeersReport } from './peers/peers.js';

export interface NotificationServerDeps {
  /** Returns why the notification cannot be sent everywhere (413), or undefined once sent. */
  notify(ns: string, data: string): string | undefined;
  describePeers(): PeersReport;
  adminToken: string | undefined;
}

export function createNotificationServer(deps: NotificationServerDeps): Server {
  const authorized = bearerChecker(deps.adminToken);
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    if (!authorized(req)) return answer(res, 401, 'missing or wrong bearer token', { 'WWW-Authenticate': 'Bearer' });
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'only GET is supported here', { Allow: 'GET' });
    const segments = pathSegments(req.url ?? '/');
    if (segments.length === 2 && segments[0] === 'api' && segments[1] === 'peers') {
      const body = `${JSON.stringify(deps.describePeers())}\n`;
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
      return void res.end(body);
    }
    if (segments.length !== 3 || segments[1] === '') {
      return answer(res, 404, 'expected /{namespace}/{service}/{message}');
    }
    const [rawNamespace, service, message] = segments as [string, string, string];
    const ns = decodeName(rawNamespace);
    if (!ns.ok) return answer(res, 400, ns.reason);
    const refused = deps.notify(ns.name, `${service}=${message}`);
    if (refused !== undefined) return answer(res, 413, refused);
    answer(res, 200);
  });
}
