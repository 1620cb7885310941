// node:http for everything the stream fast path declines: client scripts, plain requests, errors, CORS
// preflights, and the rare stream request in an unusual shape. It never listens itself; the public
// listener hands it connections.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { answer as answerPlain } from '../http-answer.js';
import { SSE_HEADERS } from '../protocol/sse.js';
import { debugFor } from '../log.js';
import { serveClientFile } from './client-files.js';
import { MAX_HEAD_BYTES } from './request-head.js';
import { routeRequest } from './routes.js';
import type { Streams } from './streams.js';
import type { UuidRegistry } from './uuid-registry.js';

const debug = debugFor('public');
const CORS = { 'Access-Control-Allow-Origin': '*' };
const PREFLIGHT_HEADERS = {
  ...CORS,
  'Access-Control-Allow-Methods': 'GET, POST',
  'Access-Control-Allow-Headers': 'Accept, Cache-Control, Last-Event-ID',
  'Access-Control-Max-Age': '86400',
};

function answer(res: ServerResponse, status: number, reason = '', headers: Record<string, string> = {}): void {
  answerPlain(res, status, reason, { ...CORS, ...headers });
}

export interface HttpFallbackDeps {
  streams: Streams;
  uuids: UuidRegistry;
  enableUuid: boolean;
}

export function createHttpFallback({ streams, uuids, enableUuid }: HttpFallbackDeps): Server {
  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const route = routeRequest(req.method ?? '', req.url ?? '/', req.headers.accept, enableUuid);
    switch (route.kind) {
      case 'preflight':
        return answer(res, 204, '', PREFLIGHT_HEADERS);
      case 'error':
        debug('%d %s: %s', route.status, req.url, route.reason);
        return answer(res, route.status, route.reason, route.status === 405 ? { Allow: 'GET, POST' } : {});
      case 'client-file':
        serveClientFile(route.name, req, res);
        return;
      case 'plain':
        if (route.uuid !== undefined) uuids.endEverywhere(route.uuid, Date.now());
        return answer(res, 200);
      case 'stream':
        res.writeHead(200, SSE_HEADERS);
        streams.open(res, res, route.ns, route.uuid);
        return;
    }
  }

  const server = createServer({ maxHeaderSize: MAX_HEAD_BYTES }, onRequest);
  // Streams are long by design; only a slow or idle client between requests times out.
  server.requestTimeout = 30_000;
  server.headersTimeout = 20_000;
  return server;
}
