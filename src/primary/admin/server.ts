// The admin port (the 2.x notification port, grown): one HTTP server and a table of routes, matched on the
// path's segments in order, first match on path and method wins. Before any route: node:http's HTTP/0.9 and
// HTTP/2.0 request lines refused (http1-only.ts), then the Host check against DNS rebinding
// (request-guard.ts). The bearer token, when set, guards every route but the admin page's static files, which
// hold no data (the page asks for the token on a 401). Routes that change something also refuse cross-site
// requests. Everything under /api/ belongs to the API: a pattern's leading `:name` never takes the segment
// `api`, so no API path is ever a notification, and unknown API paths get 404.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { debugFor } from '../../log.js';
import { pathSegments } from '../../protocol/namespace.js';
import { bearerChecker } from '../admin-auth.js';
import { answer, isApiSegment } from './answer.js';
import { crossSiteChecker, hostChecker, type HostRule } from './request-guard.js';
import { refuseConnect, versionProblem } from '../../http1-only.js';

const debug = debugFor('admin');

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** Raw (still percent-encoded) path segments captured by the pattern's `:name` parts. */
  params: Record<string, string>;
  query: URLSearchParams;
}

export interface Route {
  /** GET (which also answers HEAD) unless said otherwise. */
  method?: 'GET' | 'POST';
  /** Path segments: a literal matches itself, `:name` matches any one segment (a leading one: but `api`). */
  pattern: readonly string[];
  /** Served without the bearer token: only for files that hold no data. */
  public?: boolean;
  /** Acts on viewers, so refused cross-site. Every POST route does; a GET route says so here. */
  changes?: boolean;
  /** When given, a request it refuses goes on to the next routes (a transport's requests on a shared path). */
  accepts?(req: IncomingMessage): boolean;
  handle(context: RouteContext): void | Promise<void>;
}

export interface AdminServerSettings extends HostRule {
  adminToken: string | undefined;
}

function match(pattern: readonly string[], segments: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const part = pattern[i]!;
    if (part.startsWith(':')) {
      if (i === 0 && isApiSegment(segments[0])) return undefined;
      params[part.slice(1)] = segments[i]!;
    } else if (part !== segments[i]) return undefined;
  }
  return params;
}

function queryOf(target: string): URLSearchParams {
  const at = target.indexOf('?');
  return new URLSearchParams(at === -1 ? '' : target.slice(at + 1));
}

const UNAUTHORIZED = 'missing or wrong bearer token';
const NO_SUCH_API_ROUTE = 'no such API route';

export function createAdminServer(routes: readonly Route[], settings: AdminServerSettings, notFound: string): Server {
  const authorized = bearerChecker(settings.adminToken);
  // Only a configured token, rightly presented, lets a request through the Host check.
  const holdsToken = settings.adminToken ? authorized : () => false;
  const hostProblem = hostChecker(settings);
  const crossSiteProblem = crossSiteChecker(settings);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const notHttp1 = versionProblem(req);
    if (notHttp1 !== undefined) return answer(res, 400, notHttp1, { Connection: 'close' });
    const target = req.url ?? '/';
    const wrongHost = holdsToken(req) ? undefined : hostProblem(req);
    if (wrongHost !== undefined) return answer(res, 403, wrongHost);
    const segments = pathSegments(target);
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const allowed = new Set<string>();
    for (const route of routes) {
      const params = match(route.pattern, segments);
      if (!params || (route.accepts && !route.accepts(req))) continue;
      const routeMethod = route.method ?? 'GET';
      if (routeMethod !== method) {
        allowed.add(routeMethod);
        continue;
      }
      if (!route.public && !authorized(req)) return answer(res, 401, UNAUTHORIZED, { 'WWW-Authenticate': 'Bearer' });
      const crossSite = route.changes || routeMethod === 'POST' ? crossSiteProblem(req) : undefined;
      if (crossSite !== undefined) return answer(res, 403, crossSite);
      const context = { req, res, params, query: queryOf(target) };
      Promise.resolve()
        .then(() => route.handle(context))
        .catch((error: Error) => {
          // A route answers its own errors; this is the last guard so no request can take the primary down.
          debug('route %s failed: %s', route.pattern.join('/'), error.message);
          if (!res.headersSent) answer(res, 500, 'internal error');
          else res.destroy();
        });
      return;
    }
    // Unknown paths and methods say nothing to a caller without the token.
    if (!authorized(req)) return answer(res, 401, UNAUTHORIZED, { 'WWW-Authenticate': 'Bearer' });
    if (allowed.size > 0) {
      const allow = [...allowed].join(', ');
      return answer(res, 405, `only ${allow} is supported here`, { Allow: allow });
    }
    answer(res, 404, isApiSegment(segments[0]) ? NO_SUCH_API_ROUTE : notFound);
  });
  refuseConnect(server, 'GET, POST');
  return server;
}
