// WebSocket viewers on the public port, served on the raw socket like SSE streams. An upgrade comes from the
// raw fast path (its head read by request-head.ts) or, in a shape the fast path declines, from node:http's
// 'upgrade' event; both go through `upgrade`: the same routes, the handshake's header checks (400 with ws's
// reasons), the same Gate (a refusal is the HTTP answer an SSE request would get, 401 with its reason or
// 204), then the same counting and sessions as streams, the 101 head and the first count in one write.
// Per worker, not per connection: one ping sweep every --ws-ping-interval, one rate-window tick a second, one
// 'data' handler and one frame reader's handlers that find their viewer on the socket.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { PageEvent } from '../protocol/ipc.js';
import { type ClientFrameHandlers, readClientFrames } from '../protocol/ws-client-frames.js';
import { parsePageMessage } from '../protocol/ws-frames.js';
import { debugFor } from '../log.js';
import type { Gate } from './admission.js';
import type { Hub } from './hub.js';
import { forgetPeerAddress } from './peer-address.js';
import { headerText } from './public-server.js';
import { answerAndClose, isRawStatus, rawAnswer } from './raw-answers.js';
import { routeUpgrade } from './routes.js';
import { newSessionId } from './session-ids.js';
import { viewerOf, type Streams } from './streams.js';
import type { ViewerDirectory } from './viewer-directory.js';
import { handshake, type UpgradeHeaders } from './ws-handshake.js';
import { WsViewer } from './ws-viewer.js';

const debug = debugFor('ws');
const PAGE_WINDOW_MS = 1000;
/** Page messages a connection may send per PAGE_WINDOW_MS; one more closes it. */
const MAX_PAGES_PER_WINDOW = 10;
/** Page changes carried by one report at most: a flood is cut here (and logged) rather than queued without end. */
const MAX_PAGES_PER_REPORT = 5000;
/** RFC 6455: a message that violates the endpoint's policy. */
const POLICY_VIOLATION = 1008;

/** The parts of an upgrade request read here and by admission, whichever parser read them. */
export interface UpgradeRequest {
  method: string;
  target: string;
  lastEventId?: string | undefined;
  userAgent?: string | undefined;
  referer?: string | undefined;
  forwardedFor?: string | undefined;
}

export interface WsViewersDeps {
  hub: Hub;
  streams: Streams;
  gate: Gate;
  directory: ViewerDirectory;
  enableUuid: boolean;
  pingIntervalMs: number;
}

export interface WsViewers {
  /** An upgrade read on the raw socket; `rest`: bytes that came after its head (frames already). */
  upgrade(socket: Socket, request: UpgradeRequest, headers: UpgradeHeaders, rest: Buffer): void;
  /** node:http's 'upgrade' listener, for the upgrades the raw fast path declined. */
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Page changes since the last call, for the report. */
  takePages(): PageEvent[];
  /** Stops the timers and refuses upgrades from now on (open sockets are ended by the hub). */
  stop(): void;
}

export function createWsViewers({ hub, streams, gate, directory, enableUuid, pingIntervalMs }: WsViewersDeps): WsViewers {
  let pages: PageEvent[] = [];
  let droppedPages = 0;
  let pageWindow = 0;
  let stopped = false;

  function upgrade(socket: Socket, request: UpgradeRequest, headers: UpgradeHeaders, rest: Buffer): void {
    // Gone already, or the worker is stopping: never counted.
    if (socket.destroyed || stopped) {
      socket.destroy();
      return;
    }
    const route = routeUpgrade(request.method, request.target, enableUuid);
    if (route.kind !== 'stream') {
      const reason = route.kind === 'error' ? route.reason : 'not a namespace';
      debug('refused upgrade %s: %s', request.target, reason);
      return answerAndClose(socket, rawAnswer(route.kind === 'error' && isRawStatus(route.status) ? route.status : 400, reason));
    }
    const shake = handshake(headers);
    if (!shake.ok) {
      debug('refused upgrade %s: a malformed handshake', request.target);
      return answerAndClose(socket, shake.answer);
    }
    const admission = gate.admit({
      ns: route.ns, target: request.target, lastEventId: request.lastEventId, userAgent: request.userAgent,
      referer: request.referer, forwardedFor: request.forwardedFor, peer: socket,
    });
    forgetPeerAddress(socket);
    if (!admission.admit) {
      debug('%d on an upgrade: %s', admission.status, admission.reason);
      return answerAndClose(socket, rawAnswer(admission.status, admission.reason));
    }
    const viewer = new WsViewer(hub.roomFor(route.ns), socket, Date.now(), route.uuid, newSessionId());
    socket.on('data', onFrames);
    streams.attach(viewer, socket, admission.visit, shake.responseHead);
    if (rest.length > 0) onFrames.call(socket, rest);
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Every connection node:http serves came from the public listener: a net.Socket (node:http types it as a Duplex).
    const headers = req.headers;
    upgrade(socket as Socket, {
      method: req.method ?? '', target: req.url ?? '/', lastEventId: headerText(headers['last-event-id']),
      userAgent: headers['user-agent'], referer: headers.referer, forwardedFor: headerText(headers['x-forwarded-for']),
    }, {
      upgrade: headers.upgrade, key: headerText(headers['sec-websocket-key']),
      version: headerText(headers['sec-websocket-version']), protocol: headerText(headers['sec-websocket-protocol']),
    }, head);
  }

  function onFrames(this: Socket, chunk: Buffer): void {
    const viewer = viewerOf(this) as WsViewer | undefined;
    // Once our side is closing, whatever else comes (the client's close answering ours) is only let through.
    if (viewer === undefined || viewer.endedFor !== undefined) return;
    const read = readClientFrames(chunk, viewer.carry, handlers, viewer);
    viewer.carry = read === 'stopped' ? undefined : read;
  }

  const handlers: ClientFrameHandlers<WsViewer> = {
    message(viewer, text) {
      if (viewer.pageWindow !== pageWindow) {
        viewer.pageWindow = pageWindow;
        viewer.pages = 0;
      }
      if (++viewer.pages > MAX_PAGES_PER_WINDOW) return violation(viewer, 'more than 10 messages a second');
      const page = text === undefined ? undefined : parsePageMessage(text);
      if (page === undefined) return violation(viewer, 'expected {"type":"page","page":"/path"}');
      if (pages.length >= MAX_PAGES_PER_REPORT) droppedPages++;
      else pages.push([directory.connectionId(viewer), page, Date.now()]);
      return true;
    },
    ping(viewer, payload) {
      viewer.pong(payload);
    },
    pong(viewer) {
      viewer.alive = true;
    },
    close(viewer, code) {
      debug('the client closed a WebSocket (%s)', code ?? 'no code');
      viewer.answerClose(code);
    },
    fail(viewer, code, reason) {
      debug('closing a WebSocket with %d: %s', code, reason);
      viewer.refuse(code, reason);
    },
  };

  function sweepPings(): void {
    hub.forEachViewer((viewer) => {
      if (!(viewer instanceof WsViewer)) return;
      if (!viewer.alive) {
        debug(viewer.endedFor === undefined ? 'terminating a WebSocket that missed its pong' : 'dropping a WebSocket whose close was not answered');
        viewer.terminate();
        return;
      }
      // A closing one is not pinged, but is given the same two sweeps to finish its closing handshake.
      viewer.alive = false;
      viewer.ping();
    });
  }

  const timers = [
    setInterval(sweepPings, pingIntervalMs),
    // Each viewer's page counter restarts when it sees a new window number: no per-connection timer or sweep.
    setInterval(() => { pageWindow++; }, PAGE_WINDOW_MS),
  ];

  return {
    upgrade,
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

function violation(viewer: WsViewer, reason: string): false {
  debug('closing a WebSocket: %s', reason);
  viewer.refuse(POLICY_VIOLATION, reason);
  return false;
}
