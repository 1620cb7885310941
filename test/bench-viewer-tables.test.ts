// The load generator's two wire-format parsers (bench/sse-stream-table.ts, bench/ws-stream-table.ts): the same
// messages counted the same way whatever the format and however the bytes are split into reads, WebSocket frames
// of every length form, fragments, pings answered with a masked pong, and a real `ws` server's frames and pong.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { WebSocketServer } from 'ws';
import { SseStreamTable } from '../bench/sse-stream-table.js';
import { F_FIRST, F_OK, type StreamEvents, type ViewerTable } from '../bench/viewer-table.js';
import { WsStreamTable, acceptFor, newWebSocketKey } from '../bench/ws-stream-table.js';

interface Seen {
  heads: Array<[string, boolean]>;
  messages: Array<[boolean, boolean]>;
  comments: number;
  replies: Buffer[];
  errors: string[];
}

function recorder(): { seen: Seen; events: StreamEvents } {
  const seen: Seen = { heads: [], messages: [], comments: 0, replies: [], errors: [] };
  return {
    seen,
    events: {
      head: (_i, status, ok) => (seen.heads.push([status, ok]), ok),
      dataLine: (_i, first, marker) => void seen.messages.push([first, marker]),
      comment: () => void seen.comments++,
      reply: (_i, bytes) => void seen.replies.push(bytes),
      protocolError: (_i, code) => void seen.errors.push(code),
    },
  };
}

/** A server frame: unmasked, with the length in 7, 16 or 64 bits as RFC 6455 says for its size. */
function frame(opcode: number, payload: Buffer | string, fin = true): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const b0 = (fin ? 0x80 : 0) | opcode;
  let head: Buffer;
  if (body.length < 126) head = Buffer.from([b0, body.length]);
  else if (body.length < 65536) head = Buffer.from([b0, 126, body.length >> 8, body.length & 0xff]);
  else {
    head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(body.length), 2);
  }
  return Buffer.concat([head, body]);
}

/** Feeds `bytes` to stream 0, whole or in reads of `step` bytes. */
function feed(table: ViewerTable, bytes: Buffer, step: number): void {
  for (let k = 0; k < bytes.length; k += step) table.feed(0, bytes.subarray(k, Math.min(bytes.length, k + step)));
}

const key = newWebSocketKey();
const upgraded = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`;

for (const step of [1, 3, 1 << 20]) {
  test(`the same viewer over SSE and WebSocket: first event, count, marker (reads of ${step} bytes)`, () => {
    const sse = recorder();
    const sseTable = new SseStreamTable(1, sse.events);
    sseTable.open(0);
    sseTable.setMarker('bench=abc');
    feed(sseTable, Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nretry: 2000\nid: s1\ndata: 42\n\n:\n\ndata: bench=abc\n\ndata: 43\n\n'), step);

    const ws = recorder();
    const wsTable = new WsStreamTable(1, ws.events, key);
    wsTable.open(0);
    wsTable.setMarker('bench=abc');
    feed(wsTable, Buffer.concat([
      Buffer.from(upgraded),
      frame(1, '{"type":"count","members":42}'),
      frame(9, ''),
      frame(1, '{"type":"message","event":"bench","data":"abc"}'),
      // 43 in three fragments, a ping between two of them.
      frame(1, '{"type":"cou', false), frame(9, 'hi'), frame(0, 'nt","members"', false), frame(0, ':43}'),
    ]), step);

    for (const [table, seen, status] of [[sseTable, sse.seen, '200'], [wsTable, ws.seen, '101']] as const) {
      assert.deepEqual(seen.heads, [[status, true]]);
      assert.deepEqual(seen.messages, [[true, false], [false, true], [false, false]]);
      assert.deepEqual(seen.errors, []);
      assert.equal(table.lastCount[0], 43);
      assert.equal(table.flags[0] & (F_OK | F_FIRST), F_OK | F_FIRST);
    }
    assert.equal(ws.seen.comments, 2);
    // Each ping answered with a masked pong carrying its payload.
    assert.equal(ws.seen.replies.length, 2);
    const pong = ws.seen.replies[1]!;
    assert.equal(pong[0], 0x8a);
    assert.equal(pong[1], 0x80 | 2);
    assert.equal(Buffer.from(pong.subarray(6).map((b, k) => b ^ pong[2 + (k & 3)]!)).toString(), 'hi');
  });
}

test('WebSocket: 16- and 64-bit lengths, binary and raw messages (nchan), a wrong accept key, a masked server frame', () => {
  const { seen, events } = recorder();
  const table = new WsStreamTable(1, events, key);
  table.open(0);
  table.setMarker('bench=xyz');
  const long = Buffer.alloc(300, 0x61);
  const huge = Buffer.alloc(70_000, 0x62);
  feed(table, Buffer.concat([Buffer.from(upgraded), frame(1, '0'), frame(2, long), frame(1, huge), frame(1, 'bench=xyz'), frame(1, '17')]), 4096);
  assert.deepEqual(seen.messages, [[true, false], [false, false], [false, false], [false, true], [false, false]]);
  assert.equal(table.lastCount[0], 17);
  assert.deepEqual(seen.errors, []);

  const other = recorder();
  const wrong = new WsStreamTable(2, other.events, key);
  wrong.open(0);
  wrong.feed(0, Buffer.from(upgraded.replace(acceptFor(key), acceptFor(newWebSocketKey()))));
  wrong.open(1);
  wrong.feed(1, Buffer.concat([Buffer.from(upgraded), Buffer.from([0x81, 0x81, 1, 2, 3, 4, 0x30])]));
  assert.deepEqual(other.seen.errors, ['EWSACCEPT', 'EWSMASKED']);
  assert.deepEqual(other.seen.messages, []);
});

test('WebSocket: a real ws server\'s frames are read, and it takes the pong', async () => {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const pong = new Promise<void>((resolve) => {
    server.on('connection', (ws) => {
      ws.send('{"type":"count","members":5}');
      ws.on('pong', () => resolve());
      ws.ping();
      ws.send(JSON.stringify({ type: 'message', event: 'bench', data: 'x'.repeat(200) }));
    });
  });
  const { seen, events } = recorder();
  const table = new WsStreamTable(1, events, key);
  table.open(0);
  table.setMarker(`bench=${'x'.repeat(200)}`);
  const socket = net.connect({ port, host: '127.0.0.1' });
  events.reply = (_i, bytes) => void socket.write(bytes);
  socket.on('data', (chunk) => table.feed(0, chunk));
  await once(socket, 'connect');
  socket.write(`GET /ns HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await pong;
  for (let k = 0; k < 500 && seen.messages.length < 2; k++) await new Promise((r) => setTimeout(r, 10));
  socket.destroy();
  server.close();
  assert.deepEqual(seen.heads, [['101', true]]);
  assert.deepEqual(seen.messages, [[true, false], [false, true]]);
  assert.equal(table.lastCount[0], 5);
  assert.deepEqual(seen.errors, []);
});
