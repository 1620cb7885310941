// Viewers that stop answering or reading are dropped, so they cost nothing for long: the WebSocket ping sweep
// ends a socket that missed its pong, and a stream (SSE or WebSocket) whose unread bytes pass the bound is cut
// when the next push would add to them. Real daemon, real sockets; a shortened ping interval.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startDaemon, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { httpRequest } from './helpers/http.js';
import { openWsViewer, WsClient } from './helpers/ws-client.js';

/** Sends `head`, waits for the first bytes of the answer, then stops reading for good (a stalled client). */
function stalledClient(port: number, head: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(head));
    socket.once('data', () => {
      socket.pause();
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

async function flood(daemon: Daemon, ns: string, messages: number): Promise<void> {
  const body = JSON.stringify({ event: 'bulk', data: 'x'.repeat(4000) });
  const headers = { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) };
  for (let i = 0; i < messages; i += 25) {
    const batch = Array.from({ length: Math.min(25, messages - i) }, () =>
      httpRequest(daemon.notificationPort, `/api/namespaces/${ns}/messages`, { method: 'POST', headers, body }));
    for (const reply of await Promise.all(batch)) assert.equal(reply.status, 200, reply.body);
  }
}

describe('dead and stalled viewers', () => {
  let daemon: Daemon;
  const open: Array<WsClient | Socket> = [];
  before(async () => { daemon = await startDaemon(['-d', '--notify-min-delay', '0.1', '--ws-ping-interval', '0.2'], { workers: 1 }); });
  after(async () => {
    for (const viewer of open) viewer instanceof WsClient ? viewer.close() : viewer.destroy();
    await daemon.stop();
  });

  test('a WebSocket viewer that does not answer pings is ended; one that answers stays', async () => {
    const alive = await openWsViewer(daemon.port, '/pings');
    const mute = await openWsViewer(daemon.port, '/pings', {}, { autoPong: false });
    open.push(alive, mute);
    await waitForMembers(daemon, 'pings', 2);
    // Pinged at one sweep, ended at the next: within two intervals (0.4 s), allowing for a slow machine.
    await mute.waitForClose(5000);
    await waitForMembers(daemon, 'pings', 1);
    await waitFor(() => daemon.stderr().includes('terminating a WebSocket that missed its pong'), 3000, 'the debug line');
    // Several sweeps later the one that answers is still there.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(alive.closed, undefined);
  });

  test('SSE and WebSocket viewers that stop reading are cut once their unread bytes pass the bound', async () => {
    const reader = await openWsViewer(daemon.port, '/stalled');
    const sse = await stalledClient(daemon.port, 'GET /stalled HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    const key = randomBytes(16).toString('base64');
    const ws = await stalledClient(daemon.port, `GET /stalled HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    open.push(reader, sse, ws);
    await waitForMembers(daemon, 'stalled', 3);
    // 16 MB each: more than loopback's socket buffers on both sides hold, so the daemon's own queue grows.
    await flood(daemon, 'stalled', 4000);
    await waitForMembers(daemon, 'stalled', 1, 10_000);
    assert.equal(reader.closed, undefined, 'the viewer that reads is untouched');
    await waitFor(() => reader.messages().length === 4000, 10_000, 'every message at the reader');
  });
});
