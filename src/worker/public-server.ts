// node:http for everything the stream fast path declines: client scripts, plain requests, errors, CORS
// preflights, the rare stream request or WebSocket upgrade in an unusual shape (its 'upgrade' event goes to
// ws-viewers.ts, which serves it on the raw socket as the fast path would). It never listens itself; the public listener hands it connections.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { answer as answerPlain } from '../http-answer.js';
import { refuseConnect, versionProblem } from '../http1-only.js';
import { SSE_HEADERS } from '../protocol/sse.js';
import { debugFor } from '../log.js';
import type { Admission, Gate } from './admission.js';
import { serveClientFile } from './client-files.js';
import type { Probes } from './probes.js';
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
  gate: Gate;
  probes: Probes;
}

export function createHttpFallback({ streams, uuids, enableUuid, gate, probes }: HttpFallbackDeps): Server {
  function startOrRefuse(req: IncomingMessage, res: ServerResponse, ns: string, uuid: string | undefined, admission: Admission): void {
    if (!admission.admit) {
      debug('%d %s: %s', admission.status, req.url, admission.reason);
      return answer(res, admission.status, admission.status === 204 ? '' : admission.reason);
    }
    res.writeHead(200, SSE_HEADERS);
    streams.open(res, res, ns, uuid, admission.visit);
  }


  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const notHttp1 = versionProblem(req);
    if (notHttp1 !== undefined) return answer(res, 400, notHttp1, { Connection: 'close' });
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
      case 'probe':
        return probes.answer(route.probe, res);
      case 'plain':
        if (route.uuid !== undefined) uuids.endEverywhere(route.uuid, Date.now());
        return answer(res, 200);
      case 'stream': {
        const { ns, uuid } = route;
        const admission = gate.admit({
          ns, target: req.url ?? '/', lastEventId: headerText(req.headers['last-event-id']), userAgent: req.headers['user-agent'],
          referer: req.headers.referer, forwardedFor: headerText(req.headers['x-forwarded-for']), peer: req.socket,
        });
        return startOrRefuse(req, res, ns, uuid, admission);
      }
    }
  }

  const server = createServer({ maxHeaderSize: MAX_HEAD_BYTES }, onRequest);
  // Streams are long by design; only a slow or idle client between requests times out.
  server.requestTimeout = 30_000;
  server.headersTimeout = 20_000;
  refuseConnect(server, 'GET, POST');
  return server;
}

/** A header node:http may give as a list (repeated): its values joined as one. */
export function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
