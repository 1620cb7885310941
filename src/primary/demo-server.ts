// The demo port: /{namespace} serves a page that shows that namespace's live count, using the client
// script served by the public port, so an operator can see the whole chain work from a browser.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { decodeName, pathSegments } from '../protocol/namespace.js';
import { answer } from '../http-answer.js';
import { refuseConnect, versionProblem } from '../http1-only.js';

const TEMPLATE = readFileSync(new URL('../../../client/demo.html', import.meta.url), 'utf8');
// Host header values we are willing to echo into a page: a host name or address, optional port.
const SAFE_HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253})(:\d{1,5})?$/;

export function createDemoServer(publicPort: number): Server {
  const server = createServer((req, res) => {
    const notHttp1 = versionProblem(req);
    if (notHttp1 !== undefined) return answer(res, 400, notHttp1, { Connection: 'close' });
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'only GET is supported here', { Allow: 'GET' });
    const [first = '', ...rest] = pathSegments(req.url ?? '/');
    if (first === '' || rest.length > 0) return answer(res, 404, 'open /{namespace} to watch a namespace');
    const ns = decodeName(first);
    if (!ns.ok) return answer(res, 400, ns.reason);
    const hostHeader = req.headers.host ?? '';
    const hostname = SAFE_HOST.exec(hostHeader)?.[1] ?? 'localhost';
    const publicUrl = `http://${hostname}${publicPort === 80 ? '' : `:${publicPort}`}`;
    const page = TEMPLATE.replaceAll('{{PUBLIC_URL}}', publicUrl).replaceAll('{{NAMESPACE_JSON}}', scriptSafeJson(ns.name));
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' });
    res.end(page);
  });
  refuseConnect(server, 'GET');
  return server;
}

/** A JSON string literal that cannot close the <script> element it sits in. */
function scriptSafeJson(value: string): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}
