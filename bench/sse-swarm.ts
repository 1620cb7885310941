// One load-generating child process: opens COUNT raw TCP sockets from loopback source addresses (a
// comma-separated --local-address list, socket i from address i mod n: the kernel's search for a free
// source port slows down badly past ~10,000 sockets bound to one address),
// sends a minimal `GET /{namespace}` SSE request on each (or, with --transport ws, a WebSocket upgrade to
// the same path) and parses the responses incrementally.
//
// Per socket it keeps a handful of typed-array slots (see viewer-table.ts, with sse-stream-table.ts or
// ws-stream-table.ts for the wire format) plus the probe arrival time, and never buffers the body. A
// WebSocket message counts as an SSE `data:` line does: first event, probe marker, last count.
//
// It reports to the parent over IPC (see swarm-protocol.ts) and is bounded: it exits on its own
// after --max-seconds, on a `stop` message, or as soon as the parent disconnects.
//
// --max-inflight caps the streams opened but still waiting for their first event, so a ramp can run
// as fast as the server answers without overflowing its listen backlog (0: no cap, a flash crowd).
// --token-file names the viewers: one identity token (JWT) per line, stream k (counted from --offset, as
// the namespaces are) asks for `/{namespace}?token=<line k>` (lines reused from the top when there are
// fewer).
// --cycles N turns the swarm into a churn generator: COUNT slots, each closing its stream as soon as
// the first event arrives and opening the next, until N streams have been opened; stream k goes to
// namespace (offset + k) mod the number of names, so a long name list rotates.
//
//   node dist/bench/sse-swarm.js --port 8000 --namespaces a,b,c --count 5000 \
//        --local-address 127.0.0.2 --rate 2000 --max-seconds 300 [--offset 0] [--max-inflight 500] \
//        [--cycles 100000 --close fin|rst] [--token-file /tmp/tokens.txt] [--transport sse|ws]

import { readFileSync } from 'node:fs';
import net from 'node:net';
import { parseArgs } from 'node:util';
import {
  type ChildMessage,
  type NamespaceCounts,
  type ParentMessage,
  HistBuilder,
  emptyTotals,
  histFrom,
  isLoopbackV4,
  nowMs,
} from './swarm-protocol.js';
import { SseStreamTable } from './sse-stream-table.js';
import { F_CLOSED, F_CONNECTED, F_FIRST, F_HIT, F_OK, F_OWN, type StreamEvents, type ViewerTable } from './viewer-table.js';
import { WsStreamTable, newWebSocketKey } from './ws-stream-table.js';

const { values: args } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    namespaces: { type: 'string' },
    offset: { type: 'string', default: '0' },
    count: { type: 'string' },
    'local-address': { type: 'string', default: '127.0.0.1' },
    rate: { type: 'string', default: '2000' },
    'max-pending': { type: 'string', default: '1000' },
    'max-inflight': { type: 'string', default: '0' },
    cycles: { type: 'string', default: '0' },
    close: { type: 'string', default: 'fin' },
    'max-seconds': { type: 'string', default: '300' },
    'token-file': { type: 'string' },
    transport: { type: 'string', default: 'sse' },
  },
  strict: true,
});

function fail(message: string): never {
  process.stderr.write(`sse-swarm: ${message}\n`);
  process.exit(2);
}

function intArg(name: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < min || n > max) {
    fail(`--${name} must be an integer between ${min} and ${max}`);
  }
  return n;
}

const host = args.host!;
const localAddresses = args['local-address']!.split(',');
if (!isLoopbackV4(host)) fail(`--host must be a 127.0.0.0/8 address, got ${host}`);
for (const a of localAddresses) if (!isLoopbackV4(a)) fail(`--local-address must be 127.0.0.0/8 addresses, got ${a}`);
const port = intArg('port', args.port, 1, 65535);
const count = intArg('count', args.count, 0, 19000);
const offset = intArg('offset', args.offset, 0, 1e9);
const rate = intArg('rate', args.rate, 1, 1e6);
const maxPending = intArg('max-pending', args['max-pending'], 1, 1e6);
const maxSeconds = intArg('max-seconds', args['max-seconds'], 1, 86400);
const maxInflight = intArg('max-inflight', args['max-inflight'], 0, 1e6) || Infinity;
const cycles = intArg('cycles', args.cycles, 0, 1e9);
const churn = cycles > 0;
if (args.close !== 'fin' && args.close !== 'rst') fail('--close must be fin or rst');
const closeWithReset = args.close === 'rst';
const names = (args.namespaces ?? '').split(',').filter((s) => s.length > 0);
if (names.length === 0) fail('--namespaces needs at least one name');
if (args.transport !== 'sse' && args.transport !== 'ws') fail('--transport must be sse or ws');
const websocket = args.transport === 'ws';
/** Streams this swarm opens in all: one per slot, or --cycles when churning. */
const total = churn ? cycles : count;

// One Sec-WebSocket-Key for every upgrade of this swarm: the server's work (a SHA-1 per upgrade) is the same
// whatever the key, and one key lets every request be encoded once.
const wsKey = newWebSocketKey();
const requestFor = (ns: string, query: string): Buffer =>
  Buffer.from(
    `GET /${encodeURIComponent(ns)}${query} HTTP/1.1\r\nHost: ${host}:${port}\r\n${websocket
      ? `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${wsKey}\r\nSec-WebSocket-Version: 13\r\n`
      : 'Accept: text/event-stream\r\n'}\r\n`,
    'latin1',
  );
// Each request is encoded once per namespace; every socket of that namespace writes the same bytes.
const requests = names.map((ns) => requestFor(ns, ''));
const tokens = args['token-file'] ? readFileSync(args['token-file'], 'utf8').split('\n').filter((l) => l.length > 0) : [];
if (args['token-file'] && tokens.length === 0) fail(`--token-file ${args['token-file']} holds no token`);
/** With tokens, each stream's own request (its viewer's token in the query string). */
const ownRequest: Array<Buffer | undefined> = [];
/** Namespace index of the stream now in each slot. */
const nsOfSlot = new Uint32Array(count);

// ---- per-socket state, one slot per socket ------------------------------------------------------

interface BenchSocket extends net.Socket {
  ix: number;
}

const totals = emptyTotals();
let changed = true;
let pendingConnects = 0;
let stopping = false;

const sockets: Array<BenchSocket | undefined> = new Array(count);
const hitAt = new Float64Array(count); // probe marker arrival, epoch ms
const openedAt = new Float64Array(count); // epoch ms the slot's current socket was created
/** Slots free for a new stream; in churn mode a slot returns here when its stream closes. */
const freeSlots: number[] = [];
for (let i = count - 1; i >= 0; i--) freeSlots.push(i);
/** Streams opened and still waiting for their first event (or failure). */
let inflight = 0;

const timing = {
  firstOpenAt: NaN,
  lastOpenAt: NaN,
  lastConnectAt: NaN,
  lastHeadAt: NaN,
  lastFirstEventAt: NaN,
  connect: new HistBuilder(),
  firstEvent: new HistBuilder(),
  timeline: new Map<number, number>(),
};
const events: StreamEvents = {
  head(i, status, ok) {
    timing.lastHeadAt = nowMs();
    totals.responded++;
    bump(totals.statusCodes, status);
    changed = true;
    if (!ok) {
      totals.badStatus++;
      sockets[i]?.destroy();
      return false;
    }
    totals.alive++;
    if (probeArmed) aliveUnhit++;
    return true;
  },
  dataLine(i, first, isMarker) {
    totals.dataLines++;
    if (first) {
      const now = nowMs();
      totals.firstEvent++;
      inflight--;
      changed = true;
      timing.lastFirstEventAt = now;
      timing.firstEvent.add(now - openedAt[i]);
      if (!churn) {
        const slot = Math.floor(now / 10);
        timing.timeline.set(slot, (timing.timeline.get(slot) ?? 0) + 1);
      }
      if (churn) {
        table.flags[i] |= F_OWN;
        const sock = sockets[i];
        if (closeWithReset) sock?.resetAndDestroy();
        else sock?.destroy();
        return;
      }
    }
    if (isMarker && (table.flags[i] & F_HIT) === 0) {
      table.flags[i] |= F_HIT;
      hitAt[i] = nowMs();
      probeHits++;
      if ((table.flags[i] & F_CLOSED) === 0) aliveUnhit--;
      if (aliveUnhit <= 0) maybeFinishProbe();
    }
  },
  comment() {
    totals.comments++;
  },
  reply(i, bytes) {
    sockets[i]?.write(bytes);
  },
  protocolError(i, code) {
    totals.errors++;
    bump(totals.errorCodes, code);
    changed = true;
    sockets[i]?.destroy();
  },
};
const table: ViewerTable = websocket ? new WsStreamTable(count, events, wsKey) : new SseStreamTable(count, events);

// ---- probe state --------------------------------------------------------------------------------

let probeArmed = false;
let probeId = '';
let probeT0 = NaN;
let probeExpected = 0;
let probeHits = 0;
let aliveUnhit = 0;
let probeTimer: NodeJS.Timeout | undefined;

function send(msg: ChildMessage, cb?: () => void): void {
  if (process.connected && process.send) process.send(msg, undefined, {}, () => cb?.());
  else cb?.();
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

// ---- socket events (shared handlers, the socket is `this`) --------------------------------------

function onConnect(this: BenchSocket): void {
  const i = this.ix;
  const now = nowMs();
  table.flags[i] |= F_CONNECTED;
  pendingConnects--;
  totals.connected++;
  changed = true;
  timing.lastConnectAt = now;
  timing.connect.add(now - openedAt[i]);
  this.write(ownRequest[i] ?? requests[nsOfSlot[i]]);
}

function onData(this: BenchSocket, buf: Buffer): void {
  table.feed(this.ix, buf);
}

function onError(this: BenchSocket, err: NodeJS.ErrnoException): void {
  if (stopping) return;
  totals.errors++;
  bump(totals.errorCodes, err.code ?? err.message);
  changed = true;
}

function onClose(this: BenchSocket): void {
  const i = this.ix;
  sockets[i] = undefined;
  const f = table.flags[i];
  table.close(i);
  if ((f & F_CONNECTED) === 0) pendingConnects--;
  if ((f & F_FIRST) === 0) inflight--;
  if (churn) freeSlots.push(i);
  if ((f & F_OK) !== 0) {
    totals.alive--;
    if (probeArmed && (f & F_HIT) === 0) {
      aliveUnhit--;
      if (aliveUnhit <= 0) maybeFinishProbe();
    }
  }
  if (!stopping && (f & F_CONNECTED) !== 0 && (f & F_OWN) === 0) totals.closedByPeer++;
  changed = true;
  if (pendingConnects < maxPending && inflight < maxInflight) scheduleOpen();
}

// ---- opening sockets at a bounded rate ----------------------------------------------------------

const startedAt = Date.now();
let opened = 0;
let openTimer: NodeJS.Timeout | undefined;

function openSome(): void {
  openTimer = undefined;
  if (stopping) return;
  const due = Math.min(total, Math.max(1, Math.floor(((Date.now() - startedAt) / 1000) * rate)));
  while (opened < due && pendingConnects < maxPending && inflight < maxInflight && freeSlots.length > 0) {
    const i = freeSlots.pop()!;
    nsOfSlot[i] = (offset + opened) % names.length;
    if (tokens.length > 0) ownRequest[i] = requestFor(names[nsOfSlot[i]], `?token=${tokens[(offset + opened) % tokens.length]}`);
    opened++;
    const now = nowMs();
    if (Number.isNaN(timing.firstOpenAt)) timing.firstOpenAt = now;
    timing.lastOpenAt = now;
    openedAt[i] = now;
    const sock = net.connect({ host, port, localAddress: localAddresses[i % localAddresses.length], noDelay: true }) as BenchSocket;
    sock.ix = i;
    sockets[i] = sock;
    table.open(i);
    pendingConnects++;
    inflight++;
    sock.on('connect', onConnect);
    sock.on('data', onData);
    sock.on('error', onError);
    sock.on('close', onClose);
  }
  totals.opened = opened;
  changed = true;
  if (opened < total) scheduleOpen();
}

function scheduleOpen(): void {
  if (openTimer === undefined && opened < total && !stopping) openTimer = setTimeout(openSome, 10);
}

// ---- probe --------------------------------------------------------------------------------------

function arm(id: string, payload: string): void {
  if (probeTimer) clearTimeout(probeTimer);
  probeTimer = undefined;
  table.setMarker(payload);
  probeArmed = true;
  probeId = id;
  probeT0 = NaN;
  probeHits = 0;
  probeExpected = 0;
  const flags = table.flags;
  for (let i = 0; i < count; i++) {
    flags[i] &= ~F_HIT;
    hitAt[i] = 0;
    if ((flags[i] & (F_OK | F_CLOSED)) === F_OK) probeExpected++;
  }
  aliveUnhit = probeExpected;
  send({ type: 'armed', probe: id });
}

function maybeFinishProbe(force = false): void {
  if (!probeArmed || Number.isNaN(probeT0)) return;
  if (!force && aliveUnhit > 0) return;
  if (probeTimer) clearTimeout(probeTimer);
  probeTimer = undefined;
  const rel = new Float64Array(probeHits);
  let k = 0;
  for (let i = 0; i < count && k < probeHits; i++) {
    if ((table.flags[i] & F_HIT) !== 0) rel[k++] = hitAt[i] - probeT0;
  }
  probeArmed = false;
  table.setMarker(null);
  send({ type: 'probe-result', probe: probeId, expected: probeExpected, received: probeHits, hist: histFrom(rel) });
}

// ---- counts check -------------------------------------------------------------------------------

function countsReport(expect: Record<string, number>): Record<string, NamespaceCounts> {
  const out: Record<string, NamespaceCounts> = {};
  for (const n of names) out[n] = { sockets: 0, min: -1, max: -1, matching: 0 };
  for (let i = 0; i < count; i++) {
    if ((table.flags[i] & (F_OK | F_CLOSED | F_OWN)) !== F_OK) continue;
    const name = names[nsOfSlot[i]];
    const r = out[name];
    const v = table.lastCount[i];
    r.sockets++;
    if (v >= 0) {
      r.min = r.min < 0 ? v : Math.min(r.min, v);
      r.max = Math.max(r.max, v);
    }
    if (v === expect[name]) r.matching++;
  }
  return out;
}

// ---- lifecycle ----------------------------------------------------------------------------------

function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  if (openTimer) clearTimeout(openTimer);
  // Reset rather than close: no TIME_WAIT is left behind on the client side, so repeated runs
  // (and other load tests on the same machine) do not run out of local ports.
  for (let i = 0; i < count; i++) sockets[i]?.resetAndDestroy();
  send({ type: 'stopped', totals, at: nowMs() }, () => process.exit(code));
  setTimeout(() => process.exit(code), 2000).unref();
}

process.on('message', (raw: unknown) => {
  const msg = raw as ParentMessage;
  switch (msg?.type) {
    case 'arm':
      arm(msg.probe, msg.payload);
      break;
    case 'go':
      if (msg.probe !== probeId || !probeArmed) break;
      probeT0 = msg.t0;
      probeTimer = setTimeout(() => maybeFinishProbe(true), msg.timeoutMs);
      maybeFinishProbe();
      break;
    case 'counts':
      send({ type: 'counts', perNamespace: countsReport(msg.expect) });
      break;
    case 'timings':
      send({
        type: 'timings',
        timings: {
          firstOpenAt: timing.firstOpenAt,
          lastOpenAt: timing.lastOpenAt,
          lastConnectAt: timing.lastConnectAt,
          lastHeadAt: timing.lastHeadAt,
          lastFirstEventAt: timing.lastFirstEventAt,
          connect: timing.connect.hist(),
          firstEvent: timing.firstEvent.hist(),
          timeline: [...timing.timeline.entries()],
        },
      });
      break;
    case 'stop':
      stop(0);
      break;
  }
});
process.on('disconnect', () => {
  stopping = true;
  process.exit(0);
});

setTimeout(() => stop(0), maxSeconds * 1000);
setInterval(() => {
  if (!changed) return;
  changed = false;
  send({ type: 'progress', totals });
}, 200).unref();

if (count > 0 && total > 0) openSome();
