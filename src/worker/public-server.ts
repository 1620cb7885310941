// The public port: routes a request to a stream, a client script, or the plain answers 2.x gave.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { answer as answerPlain } from '../http-answer.js';
import { decodeName, pathSegments } from '../protocol/namespace.js';
import { SSE_HEADERS, countFrame } from '../protocol/sse.js';
import { serveClientFile } from './client-files.js';
import type { Hub } from './hub.js';
import type { Lifetimes } from './lifetimes.js';
import type { UuidRegistry } from './uuid-registry.js';
import type { Viewer } from './viewer.js';
import { debugFor } from '../log.js';

const debug = debugFor('public');

export interface PublicServerDeps {
  hub: Hub;
  lifetimes: Lifetimes;
  uuids: UuidRegistry;
  enableUuid: boolean;
}

const CORS = { 'Access-Control-Allow-Origin': '*' };
const PREFLIGHT_HEADERS = {
  ...CORS,
  'Access-Control-Allow-Methods': 'GET, POST',
  'Access-Control-Allow-Headers': 'Accept, Cache-Control, Last-Event-ID',
  'Access-Control-Max-Age': '86400',
};
// The response a stream belongs to, without a closure per connection: one shared 'close' handler reads it.
const VIEWER = Symbol('viewer');
type StreamResponse = ServerResponse & { [VIEWER]?: Viewer };

function answer(res: ServerResponse, status: number, reason = '', headers: Record<string, string> = {}): void {
  answerPlain(res, status, reason, { ...CORS, ...headers });
}

export function createPublicServer(deps: PublicServerDeps): Server {
  const { hub, lifetimes, uuids } = deps;

  function onStreamClose(this: StreamResponse): void {
    const viewer = this[VIEWER];
    if (!viewer) return;
    this[VIEWER] = undefined;
    debug('stream closed in %s', viewer.room.name);
    hub.leave(viewer);
    lifetimes.forget(viewer);
    uuids.release(viewer);
  }

  function openStream(res: StreamResponse, ns: string, uuid: string | undefined): void {
    debug('stream opened in %s', ns);
    const viewer = hub.join(ns, res, Date.now(), uuid);
    res[VIEWER] = viewer;
    res.on('close', onStreamClose);
    if (uuid !== undefined) uuids.claim(viewer as Viewer & { uuid: string });
    lifetimes.track(viewer);
    res.socket?.setNoDelay(true);
    res.writeHead(200, SSE_HEADERS);
    res.write(countFrame(hub.countFor(viewer)));
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === 'OPTIONS') return answer(res, 204, '', PREFLIGHT_HEADERS);
    if (req.method !== 'GET' && req.method !== 'POST' && req.method !== 'HEAD') {
      return answer(res, 405, 'use GET or POST', { Allow: 'GET, POST' });
    }
    const segments = pathSegments(req.url ?? '/');
    const [first = '', second, ...rest] = segments;
    if (first === 'client' && second !== undefined && rest.length === 0 && serveClientFile(second, req, res)) return;

    const ns = decodeName(first);
    if (!ns.ok) {
      debug('400 %s: %s', req.url, ns.reason);
      return answer(res, 400, ns.reason);
    }
    let uuid: string | undefined;
    if (deps.enableUuid && second !== undefined && second !== '') {
      if (rest.length > 0) return answer(res, 404, 'expected /{namespace} or /{namespace}/{uuid}');
      const decoded = decodeName(second, 'uuid');
      if (!decoded.ok) return answer(res, 400, decoded.reason);
      uuid = decoded.name;
    }
    // Like 2.x, anything after the namespace is ignored when uuids are off.

    const wantsStream = (req.headers.accept ?? '').includes('text/event-stream');
    if (!wantsStream || req.method === 'HEAD') {
      if (uuid !== undefined) uuids.endEverywhere(uuid, Date.now());
      return answer(res, 200);
    }
    openStream(res, ns.name, uuid);
  }

  const server = createServer(onRequest);
  // Streams are long by design; only an idle keep-alive socket between requests times out.
  server.requestTimeout = 30_000;
  server.headersTimeout = 20_000;
  return server;
}
