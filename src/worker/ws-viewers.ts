// WebSocket viewers on the public port. An upgrade request reaches node:http (the raw fast path declines
// anything with `Upgrade`), which hands it here: the same routes, the same Gate (a refusal is the HTTP answer
// an SSE request would get, 401 with its reason or 204), then the same counting and sessions as streams.
// Per worker, not per connection: one ping sweep every --ws-ping-interval, one rate-window tick a second, and shared
// event handlers that find their viewer on the socket.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { PageEvent } from '../protocol/ipc.js';
import { MAX_CLIENT_MESSAGE_BYTES, parsePageMessage } from '../protocol/ws-frames.js';
import { debugFor } from '../log.js';
import type { Admission, Gate } from './admission.js';
import type { Hub } from './hub.js';
import { headerText } from './public-server.js';
import { isRawStatus, rawAnswer } from './raw-answers.js';
import { routeUpgrade } from './routes.js';
import { newSessionId } from './session-ids.js';
import type { Streams } from './streams.js';
import type { ViewerDirectory } from './viewer-directory.js';
import { WsViewer } from './ws-viewer.js';

const debug = debugFor('ws');
const PAGE_WINDOW_MS = 1000;
/** Page messages a connection may send per PAGE_WINDOW_MS; one more closes it. */
const MAX_PAGES_PER_WINDOW = 10;
/** Page changes carried by one report at most: a flood is cut here (and logged) rather than queued without end. */
const MAX_PAGES_PER_REPORT = 5000;
/** RFC 6455: a message that violates the endpoint's policy. */
const POLICY_VIOLATION = 1008;

const VIEWER = Symbol('audience-meter.wsViewer');
type Carried = WebSocket & { [VIEWER]?: WsViewer };

export interface WsViewersDeps {
  hub: Hub;
  streams: Streams;
  gate: Gate;
  directory: ViewerDirectory;
  enableUuid: boolean;
  pingIntervalMs: number;
}

export interface WsViewers {
  /** node:http's 'upgrade' listener. */
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Page changes since the last call, for the report. */
  takePages(): PageEvent[];
  /** Stops the timers and refuses upgrades from now on (open sockets are ended by the hub). */
  stop(): void;
}

export function createWsViewers({ hub, streams, gate, directory, enableUuid, pingIntervalMs }: WsViewersDeps): WsViewers {
  // ws's own tracking and compression stay off: the live set is kept here, and per-connection deflate
  // contexts would cost far more memory than the small frames they would save.
  const server = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false, maxPayload: MAX_CLIENT_MESSAGE_BYTES });
  const live = new Set<WsViewer>();
  let pages: PageEvent[] = [];
  let droppedPages = 0;
  let pageWindow = 0;
  let stopped = false;

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const route = routeUpgrade(req.method ?? '', req.url ?? '/', enableUuid);
    if (route.kind !== 'stream') {
      const reason = route.kind === 'error' ? route.reason : 'not a namespace';
      debug('refused upgrade %s: %s', req.url, reason);
      socket.end(rawAnswer(route.kind === 'error' && isRawStatus(route.status) ? route.status : 400, reason));
      return;
    }
    const headers = req.headers;
    const admission = gate.admit({
      ns: route.ns, target: req.url ?? '/', lastEventId: headerText(headers['last-event-id']), userAgent: headers['user-agent'],
      referer: headers.referer, forwardedFor: headerText(headers['x-forwarded-for']), peer: req.socket,
    });
    acceptOrRefuse(req, socket, head, route.ns, route.uuid, admission);
  }

  function acceptOrRefuse(req: IncomingMessage, socket: Duplex, head: Buffer, ns: string, uuid: string | undefined, admission: Admission): void {
    // Gone already, or the worker is stopping: never counted.
    if (socket.destroyed || stopped) {
      socket.destroy();
      return;
    }
    if (!admission.admit) {
      debug('%d on an upgrade: %s', admission.status, admission.reason);
      socket.end(rawAnswer(admission.status, admission.reason));
      return;
    }
    // ws writes the 101 head, then (its callback runs before handleUpgrade returns) the first count goes out:
    // corked, both leave in one write instead of two.
    socket.cork();
    server.handleUpgrade(req, socket, head, (ws) => open(ws, ns, uuid, admission));
    socket.uncork();
  }

  function open(ws: WebSocket, ns: string, uuid: string | undefined, admission: Admission & { admit: true }): void {
    const viewer = new WsViewer(hub.roomFor(ns), ws, Date.now(), uuid, newSessionId());
    (ws as Carried)[VIEWER] = viewer;
    ws.on('message', onMessage);
    ws.on('pong', onPong);
    ws.on('error', onError);
    ws.on('close', onClose);
    live.add(viewer);
    streams.attach(viewer, ws, admission.visit);
  }

  function onMessage(this: Carried, data: RawData, isBinary: boolean): void {
    const viewer = this[VIEWER];
    if (!viewer || this.readyState !== this.OPEN) return;
    if (viewer.pageWindow !== pageWindow) {
      viewer.pageWindow = pageWindow;
      viewer.pages = 0;
    }
    if (++viewer.pages > MAX_PAGES_PER_WINDOW) return violation(this, 'more than 10 messages a second');
    const page = isBinary ? undefined : parsePageMessage((data as Buffer).toString('utf8'));
    if (page === undefined) return violation(this, 'expected {"type":"page","page":"/path"}');
    if (pages.length >= MAX_PAGES_PER_REPORT) {
      droppedPages++;
      return;
    }
    pages.push([directory.connectionId(viewer), page, Date.now()]);
  }

  function sweepPings(): void {
    for (const viewer of live) {
      const ws = viewer.socket;
      if (!viewer.alive) {
        debug('terminating a WebSocket that missed its pong');
        ws.terminate();
        continue;
      }
      if (ws.readyState !== ws.OPEN) continue;
      viewer.alive = false;
      ws.ping();
    }
  }

  function onClose(this: Carried): void {
    const viewer = this[VIEWER];
    if (viewer) live.delete(viewer);
  }

  const timers = [
    setInterval(sweepPings, pingIntervalMs),
    // Each viewer's page counter restarts when it sees a new window number: no per-connection timer or sweep.
    setInterval(() => { pageWindow++; }, PAGE_WINDOW_MS),
  ];

  return {
    onUpgrade,
    takePages() {
      if (droppedPages > 0) debug('dropped %d page changes over the per-report bound', droppedPages);
      droppedPages = 0;
      const taken = pages;
      pages = [];
      return taken;
    },
    stop() {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
    },
  };
}

function violation(ws: WebSocket, reason: string): void {
  debug('closing a WebSocket: %s', reason);
  ws.close(POLICY_VIOLATION, reason);
}

function onPong(this: Carried): void {
  const viewer = this[VIEWER];
  if (viewer) viewer.alive = true;
}

/** Protocol errors (bad frames, oversized messages): ws closes the socket itself and 'close' follows. */
function onError(this: WebSocket, error: Error): void {
  debug('WebSocket error: %s', error.message);
}
