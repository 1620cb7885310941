// The 2.x notification port: GET /{namespace}/{service}/{message} sends `data: {service}={message}` to
// every viewer of the namespace, at once and on every worker. Service and message go out exactly as they
// arrived in the path (percent-encoded, as 2.x sent them); the namespace is decoded like the public port's.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { decodeName, pathSegments } from '../protocol/namespace.js';
import { bearerChecker } from './admin-auth.js';
import { answer } from '../http-answer.js';

export interface NotificationServerDeps {
  notify(ns: string, data: string): void;
  adminToken: string | undefined;
}

export function createNotificationServer(deps: NotificationServerDeps): Server {
  const authorized = bearerChecker(deps.adminToken);
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    if (!authorized(req)) return answer(res, 401, 'missing or wrong bearer token', { 'WWW-Authenticate': 'Bearer' });
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'only GET is supported here', { Allow: 'GET' });
    const segments = pathSegments(req.url ?? '/');
    if (segments.length !== 3 || segments[1] === '') {
      return answer(res, 404, 'expected /{namespace}/{service}/{message}');
    }
    const [rawNamespace, service, message] = segments as [string, string, string];
    const ns = decodeName(rawNamespace);
    if (!ns.ok) return answer(res, 400, ns.reason);
    deps.notify(ns.name, `${service}=${message}`);
    answer(res, 200);
  });
}
