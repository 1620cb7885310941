// Calibration only: the least Node.js can do to serve the benchmark's viewers, so the harness floor on this
// machine is known. --processes workers (node:cluster, connections handed out by the kernel: SCHED_NONE)
// with no parser worth the name (it trusts the request line) and no counting: each stream gets a 200
// head and `data: 0`, then whatever the control port (on the primary) sends to its namespace
// (`GET /{namespace}/{service}/{message}` → `data: {service}={message}`, relayed to every worker, one buffer
// written to every socket of the namespace). Loopback only; exits after --max-seconds.
//
//   node dist/bench/bare-sse-server.js --port 8000 --control-port 8001 [--processes 2] [--max-seconds 3600]

import cluster from 'node:cluster';
import http from 'node:http';
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'control-port': { type: 'string' },
    'max-seconds': { type: 'string', default: '3600' },
    processes: { type: 'string', default: '2' },
  },
  strict: true,
});

const HEAD = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\ndata: 0\n\n');
const rooms = new Map<string, Set<net.Socket>>();
const ROOM = Symbol('room');
type Viewer = net.Socket & { [ROOM]?: Set<net.Socket> };

function onData(this: Viewer, chunk: Buffer): void {
  if (this[ROOM]) return;
  const end = chunk.indexOf('\r\n');
  const line = chunk.toString('latin1', 0, end < 0 ? chunk.length : end);
  const ns = line.split(' ')[1] ?? '/';
  let room = rooms.get(ns);
  if (!room) rooms.set(ns, (room = new Set()));
  room.add(this);
  this[ROOM] = room;
  this.write(HEAD);
}

function onClose(this: Viewer): void {
  this[ROOM]?.delete(this);
}

function onError(): void {}

function broadcast(ns: string, data: string): void {
  const room = rooms.get(ns);
  if (!room) return;
  const frame = Buffer.from(`data: ${data}\n\n`);
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
