// The 2.x stats port: a client connects, receives one JSON object of every namespace's counters, and the
// connection closes. `nc localhost 1442` and the RRD scripts built on it keep working.
//
// The object is written as it is read, in pieces of about STATS_CHUNK bytes, waiting for the socket to drain
// between them. Building it whole (an object of every namespace, then one string of it) made a few megabytes
// of short-lived data per read of a large table (50,000 namespaces: ~5 MB), too large for the young
// generation: it went straight to the old one, where V8 leaves it until its next full collection, which an
// idle primary may not run for a long time (the namespace-flood benchmark read it as memory not given back).
// Pieces this small die young. The counters are those of the moment each piece is written; a table of
// 50,000 namespaces takes a few milliseconds.
import { createServer, type Server, type Socket } from 'node:net';
import type { NamespaceStats } from './audience-table.js';

const STATS_CHUNK = 16 * 1024;

export function createStatsServer(stats: () => Iterable<[string, NamespaceStats]>): Server {
  return createServer((socket) => {
    // A client that disconnects early must not raise an unhandled 'error'.
    socket.on('error', () => socket.destroy());
    writeStats(socket, stats()).catch(() => socket.destroy());
  });
}

async function writeStats(socket: Socket, entries: Iterable<[string, NamespaceStats]>): Promise<void> {
  let piece = '{';
  let first = true;
  for (const [ns, counters] of entries) {
    piece += `${first ? '' : ','}${JSON.stringify(ns)}:${JSON.stringify(counters)}`;
    first = false;
    if (piece.length < STATS_CHUNK) continue;
    if (socket.destroyed) return;
    if (!socket.write(piece)) await drained(socket);
    piece = '';
  }
  if (!socket.destroyed) socket.end(`${piece}}\n`);
}

/** Resolves when the socket can take more, or is gone; leaves no listener behind. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}
