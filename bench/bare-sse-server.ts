// Calibration only: the least Node.js can do to serve the benchmark's viewers, so the harness floor on this
// machine is known. --processes workers (node:cluster, connections handed out by the kernel: SCHED_NONE)
// with no parser worth the name (it trusts the request line) and no counting: each stream gets a 200
// head and `data: 0`, then whatever the control port (on the primary) sends to its namespace
// (`GET /{namespace}/{service}/{message}` → `data: {service}={message}`, relayed to every worker, one buffer
// written to every socket of the namespace). Loopback only; exits after --max-seconds.
//
// With --transport ws the viewers are WebSocket upgrades of the same request instead: the least RFC 6455 asks of
// a server, no library. The 101 head carries the accept key (base64 of SHA-1 of the client's key and the
// protocol's GUID), then unmasked text frames, the same bytes the daemon sends (docs/protocols.md), so the load
// generator reads the floor's frames as it reads the daemon's: `{"type":"count","members":0}` first, then
// `{"type":"message","event":service,"data":message}`. It never pings and ignores whatever a viewer sends.
//
//   node dist/bench/bare-sse-server.js --port 8000 --control-port 8001 [--processes 2] [--max-seconds 3600] \
//        [--transport sse|ws]

import cluster from 'node:cluster';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'control-port': { type: 'string' },
    'max-seconds': { type: 'string', default: '3600' },
    processes: { type: 'string', default: '2' },
    transport: { type: 'string', default: 'sse' },
  },
  strict: true,
});
const websocket = values.transport === 'ws';

const HEAD = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\ndata: 0\n\n');
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** An unmasked, unfragmented text frame (payloads under 64 KiB: the floor sends nothing longer). */
function textFrame(payload: Buffer): Buffer {
  const short = payload.length < 126;
  const head = short ? Buffer.from([0x81, payload.length]) : Buffer.from([0x81, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([head, payload]);
}

const WS_FIRST = textFrame(Buffer.from('{"type":"count","members":0}'));

/** The 101 answer to an upgrade and the first frame, or undefined when the head has no Sec-WebSocket-Key. */
function upgradeAnswer(head: string): Buffer | undefined {
  const key = /\r\nsec-websocket-key:[ \t]*([^\r]*)/i.exec(head)?.[1]?.trim();
  if (!key) return undefined;
  const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
  return Buffer.concat([
    Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`, 'latin1'),
    WS_FIRST,
  ]);
}

const rooms = new Map<string, Set<net.Socket>>();
const ROOM = Symbol('room');
type Viewer = net.Socket & { [ROOM]?: Set<net.Socket> };

function onData(this: Viewer, chunk: Buffer): void {
  if (this[ROOM]) return;
  const end = chunk.indexOf('\r\n');
  const line = chunk.toString('latin1', 0, end < 0 ? chunk.length : end);
  const ns = line.split(' ')[1] ?? '/';
  const answer = websocket ? upgradeAnswer(chunk.toString('latin1')) : HEAD;
  if (!answer) {
    this.destroy();
    return;
  }
  let room = rooms.get(ns);
  if (!room) rooms.set(ns, (room = new Set()));
  room.add(this);
  this[ROOM] = room;
  this.write(answer);
}

function onClose(this: Viewer): void {
  this[ROOM]?.delete(this);
}

function onError(): void {}

function broadcast(ns: string, data: string): void {
  const room = rooms.get(ns);
  if (!room) return;
  // `service=message` reaches WebSocket viewers as the daemon sends it: event `service`, data `message`.
  const eq = data.indexOf('=');
  const frame = websocket
    ? textFrame(Buffer.from(JSON.stringify(eq < 0 ? { type: 'message', event: 'message', data } : { type: 'message', event: data.slice(0, eq), data: data.slice(eq + 1) })))
    : Buffer.from(`data: ${data}\n\n`);
  for (const socket of room) socket.write(frame);
}

setTimeout(() => process.exit(0), Number(values['max-seconds']) * 1000).unref();

if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const workers = Array.from({ length: Number(values.processes) }, () => cluster.fork());
  const control = http.createServer((req, res) => {
    const [, ns, service, message] = (req.url ?? '').split('/');
    for (const w of workers) w.send([`/${ns}`, `${service}=${message}`]);
    res.end();
  });
  control.listen({ port: Number(values['control-port']), host: '127.0.0.1' });
  process.on('SIGTERM', () => {
    for (const w of workers) w.kill();
    process.exit(0);
  });
} else {
  const server = net.createServer({ noDelay: true }, (socket) => {
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onError);
  });
  server.on('error', onError); // EMFILE past the open-file limit: refuse, keep serving
  server.listen({ port: Number(values.port), host: '127.0.0.1', backlog: 4096 });
  process.on('message', (m: [string, string]) => broadcast(m[0], m[1]));
  process.on('disconnect', () => process.exit(0));
  // The primary's SIGTERM reaches workers as one too: exit normally, so `node --cpu-prof` writes a profile.
  process.on('SIGTERM', () => process.exit(0));
}
