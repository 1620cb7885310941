// The public port. Most connections are one request for an event stream, or one WebSocket upgrade, that then
// stays open for hours, so they are served here on the raw socket: the head is read by a strict small parser,
// the response head is one pre-encoded buffer (a WebSocket's 101 is encoded but for its accept key), and the
// socket itself becomes the stream. node:http's per-request objects cost more than half the memory of an idle
// viewer (BENCHMARKS.md); everything else still goes to node:http, bytes untouched.
import { createServer, type Server, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { SSE_HEADERS } from '../protocol/sse.js';
import { debugFor } from '../log.js';
import type { Admission, Gate } from './admission.js';
import type { Probes } from './probes.js';
import { forgetPeerAddress } from './peer-address.js';
import { answerAndClose, rawAnswer } from './raw-answers.js';
import { readRequestHead } from './request-head.js';
import { routeRequest } from './routes.js';
import type { Streams } from './streams.js';
import type { WsViewers } from './ws-viewers.js';

const debug = debugFor('public');
/** A client gets this long to send its request head (slow clients hold a socket and a buffer). */
const HEAD_DEADLINE_MS = 10_000;
const HEAD_SWEEP_MS = 1000;

// The body runs until the connection closes, so no chunked framing: every frame goes out as it was encoded.
const STREAM_RESPONSE_HEAD = Buffer.from(
  `HTTP/1.1 200 OK\r\n${Object.entries({ ...SSE_HEADERS, Connection: 'close' }).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`,
);

const NOT_HTTP1_REASON = 'not an HTTP/1.x request head (request line, CRLF line ends, no control bytes)';

export interface PublicListenerDeps {
  streams: Streams;
  wsViewers: WsViewers;
  fallback: HttpServer;
  enableUuid: boolean;
  gate: Gate;
  probes: Probes;
}

export interface PublicListener {
  server: Server;
  /** Stops the head deadline sweep and drops connections still sending their head. */
  stop(): void;
}

export function createPublicListener({ streams, wsViewers, fallback, enableUuid, gate, probes }: PublicListenerDeps): PublicListener {
  // What a connection needs only until its head is complete is kept here, not on the socket: a property
  // added to a socket stays with it for as long as it is open (a time there is a boxed number, 16 B more).
  /** Connections whose request head is not complete yet, oldest first, with the sweep's time when they came. */
  const awaitingHead = new Map<Socket, number>();
  /** The bytes of heads that came in more than one chunk (rare: a head is one small packet). */
  const partialHeads = new Map<Socket, Buffer>();
  let stopped = false;

  /** The sweep's clock, read per connection instead of the system's (the deadline is checked once a second). */
  let sweptAt = Date.now();

  function onConnection(socket: Socket): void {
    awaitingHead.set(socket, sweptAt);
    socket.on('error', onSocketError);
    socket.on('data', onHeadData);
    socket.on('close', onEarlyClose);
  }

  function onHeadData(this: Socket, chunk: Buffer): void {
    const partial = partialHeads.get(this);
    const bytes = partial ? Buffer.concat([partial, chunk]) : chunk;
    const head = readRequestHead(bytes);
    if (head === 'incomplete') {
      partialHeads.set(this, bytes);
      return;
    }
    if (partial) partialHeads.delete(this);
    awaitingHead.delete(this);
    this.off('data', onHeadData);
    this.off('close', onEarlyClose);
    if (head === 'malformed' || head === 'foreign') return refuseHead(this, head);
    // An upgrade's own bytes after its head are WebSocket frames: its reader takes them.
    if (head !== 'decline' && head.upgrade !== undefined) {
      if (stopped) return void this.destroy();
      return wsViewers.upgrade(this, head, head.upgrade, bytes.subarray(head.length));
    }
    const route = head === 'decline' ? undefined : routeRequest(head.method, head.target, head.accept, enableUuid);
    if (route?.kind === 'probe' && bytes.length === head.length) {
      this.end(probes.raw(route.probe));
      return;
    }
    // Only a lone stream request (or probe) is served here; pipelined bytes or any other request go to node:http.
    if (head === 'decline' || route?.kind !== 'stream' || bytes.length !== head.length) {
      handToHttp(this, bytes);
      return;
    }
    this.on('data', onStreamData);
    const admission = gate.admit({
      ns: route.ns, target: head.target, lastEventId: head.lastEventId, userAgent: head.userAgent,
      referer: head.referer, forwardedFor: head.forwardedFor, peer: this,
    });
    forgetPeerAddress(this);
    startOrRefuse(this, route.ns, route.uuid, admission);
  }

  function startOrRefuse(socket: Socket, ns: string, uuid: string | undefined, admission: Admission): void {
    // The worker is stopping: never counted.
    if (stopped) {
      socket.destroy();
      return;
    }
    if (!admission.admit) {
      debug('%d on a stream request: %s', admission.status, admission.reason);
      answerAndClose(socket, rawAnswer(admission.status, admission.reason));
      return;
    }
    streams.open(socket, socket, ns, uuid, admission.visit, STREAM_RESPONSE_HEAD);
  }

  /** Not HTTP/1.x: decided at the first byte that could not be, so the socket is freed now, not at the deadline. */
  function refuseHead(socket: Socket, why: 'malformed' | 'foreign'): void {
    if (why === 'foreign') {
      debug('closing a connection that opened with another protocol (TLS or HTTP/2)');
      socket.destroy();
      return;
    }
    debug('400 on bytes that are not an HTTP/1.x request head');
    answerAndClose(socket, rawAnswer(400, NOT_HTTP1_REASON));
  }

  function handToHttp(socket: Socket, bytes: Buffer): void {
    socket.pause();
    socket.unshift(bytes);
    fallback.emit('connection', socket);
    socket.resume();
  }

  function sweepSlowHeads(): void {
    sweptAt = Date.now();
    // Arrival times are up to one sweep early: a client gets at least the full deadline.
    const tooOld = sweptAt - HEAD_DEADLINE_MS - HEAD_SWEEP_MS;
    for (const [socket, arrivedAt] of awaitingHead) {
      if (arrivedAt > tooOld) return;
      debug('dropping a connection that sent no complete request head in %d ms', HEAD_DEADLINE_MS);
      awaitingHead.delete(socket);
      partialHeads.delete(socket);
      socket.destroy();
    }
  }

  function onEarlyClose(this: Socket): void {
    awaitingHead.delete(this);
    partialHeads.delete(this);
  }

  const server = createServer({ noDelay: true }, onConnection);
  const sweep = setInterval(sweepSlowHeads, HEAD_SWEEP_MS);
  return {
    server,
    stop() {
      stopped = true;
      clearInterval(sweep);
      for (const socket of awaitingHead.keys()) socket.destroy();
      awaitingHead.clear();
      partialHeads.clear();
    },
  };
}

/** A stream is one request: a client that sends more (pipelining) is cut off. */
function onStreamData(this: Socket): void {
  this.destroy();
}

/** Resets and aborts are routine for viewers; the 'close' that follows does the bookkeeping. */
function onSocketError(this: Socket, error: Error): void {
  debug('socket error: %s', error.message);
}
