// GET /admin (the operator's page, plain files from client/, no build step) and GET /metrics (Prometheus).
// The page's files hold no data, so they are served without the token: the page asks for it when the API
// answers 401. A strict Content-Security-Policy keeps the page to its own files and this port.
import { readFileSync } from 'node:fs';
import type { Registry } from 'prom-client';
import { answer } from './answer.js';
import type { Route } from './server.js';

const CLIENT_DIR = new URL('../../../../client/', import.meta.url);

const PAGE_FILES: [path: string[], file: string, type: string][] = [
  [['admin'], 'admin.html', 'text/html; charset=utf-8'],
  [['admin', 'admin.js'], 'admin.js', 'application/javascript; charset=utf-8'],
  [['admin', 'admin-chart.js'], 'admin-chart.js', 'application/javascript; charset=utf-8'],
  [['admin', 'admin.css'], 'admin.css', 'text/css; charset=utf-8'],
  [['admin', 'favicon.svg'], 'favicon.svg', 'image/svg+xml'],
];

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

export function adminPageRoutes(): Route[] {
  const files = PAGE_FILES.map(([pattern, file, type]): Route => {
    const body = readFileSync(new URL(file, CLIENT_DIR));
    return {
      pattern,
      public: true,
      handle({ req, res }) {
        res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length, 'Cache-Control': 'no-cache', ...SECURITY_HEADERS });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
    };
  });
  // /admin/ is what people type (and what a proxy's location /admin/ passes on); the page's links are absolute.
  const trailingSlash: Route = {
    pattern: ['admin', ''],
    public: true,
    handle: ({ res }) => answer(res, 308, 'the admin page is at /admin', { Location: '/admin' }),
  };
  // Browsers ask for /favicon.ico whatever the page says.
  const favicon: Route = {
    pattern: ['favicon.ico'],
    public: true,
    handle: ({ res }) => answer(res, 308, '', { Location: '/admin/favicon.svg' }),
  };
  return [...files, trailingSlash, favicon];
}

export function metricsRoute(registry: Registry): Route {
  return {
    pattern: ['metrics'],
    async handle({ res }) {
      let text: string;
      try {
        text = await registry.metrics();
      } catch (error) {
        return answer(res, 500, `metrics failed: ${(error as Error).message.split('\n')[0]}`);
      }
      res.writeHead(200, { 'Content-Type': registry.contentType, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
      res.end(text);
    },
  };
}
