// The 2.x stats port: a client connects, receives one JSON object of every namespace's counters, and the
// connection closes. `nc localhost 1442` and the RRD scripts built on it keep working.
import { createServer, type Server } from 'node:net';
import type { StatsSnapshot } from './audience-table.js';

export function createStatsServer(snapshot: () => StatsSnapshot): Server {
  return createServer((socket) => {
    // A client that disconnects early must not raise an unhandled 'error'.
    socket.on('error', () => socket.destroy());
    socket.end(`${JSON.stringify(snapshot())}\n`);
  });
}
