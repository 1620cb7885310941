// Units behind WebSocket viewers and targeted messages: the IPC checks of `feed`, `deliver` and
// `delivered`, connection numbers, the lazily encoded pushes, page messages, and dropping a viewer that
// stopped reading, the client-frame reader.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isEventName } from '../src/protocol/event-name.js';
import { parsePrimaryMessage, parseWorkerMessage } from '../src/protocol/ipc.js';
import { type ClientFrameHandlers, type ReaderCarry, readClientFrames } from '../src/protocol/ws-client-frames.js';
import { parsePageMessage } from '../src/protocol/ws-frames.js';
import { Room } from '../src/worker/hub.js';
import { countPush, messagePush, notificationPush } from '../src/worker/push.js';
import { ConnectionIds } from '../src/worker/session-ids.js';
import { MAX_BUFFERED_BYTES } from '../src/worker/viewer.js';
import { WsViewer } from '../src/worker/ws-viewer.js';
import { clientFrame } from './helpers/raw-ws.js';

const report = { type: 'report', entries: [], exclusions: [], entered: [], exited: [] };

test('report feed events (page changes among them) are optional and checked; delivered carries an id and a count', () => {
  assert.ok(parseWorkerMessage(report));
  const connection = { session: 's', connection: 'n-1-a-0', ns: 'ev', user: null, name: null, at: 1, page: '/cars', browser: null, os: null, device: null, ip: null, transport: 'ws' };
  assert.ok(parseWorkerMessage({ ...report, feed: [['page', connection, 1700000000000]] }));
  for (const feed of [[['page', { ...connection, page: '' }, 1]], [['page', connection]], [[1, connection, 1]], 'x',
    [['page', { ...connection, page: 'p'.repeat(2049) }, 1]]]) {
    assert.equal(parseWorkerMessage({ ...report, feed }), undefined, JSON.stringify(feed).slice(0, 60));
  }
  assert.ok(parseWorkerMessage({ type: 'delivered', id: 3, count: 0 }));
  assert.equal(parseWorkerMessage({ type: 'delivered', id: -1, count: 0 }), undefined);
  assert.equal(parseWorkerMessage({ type: 'delivered', id: 1 }), undefined);
});

test('deliver: a known target kind, a valid event name, string data under the bound', () => {
  const deliver = { type: 'deliver', id: 1, target: { kind: 'connection', connection: 'n-1-a-0' }, event: 'offer', data: 'x' };
  assert.ok(parsePrimaryMessage(deliver));
  assert.ok(parsePrimaryMessage({ ...deliver, target: { kind: 'user', user: 'alice' } }));
  assert.ok(parsePrimaryMessage({ ...deliver, target: { kind: 'namespace', ns: 'room' } }));
  for (const bad of [
    { target: { kind: 'room', ns: 'x' } }, { target: { kind: 'user' } }, { target: null }, { event: 'a:b' }, { event: 'expelled' },
    { event: '' }, { data: 7 }, { data: 'x'.repeat(64 * 1024 + 1) }, { id: 'one' },
  ]) assert.equal(parsePrimaryMessage({ ...deliver, ...bad }), undefined, JSON.stringify(bad).slice(0, 60));
});

test('event names: letters first, no separators an SSE frame would read, reserved names refused', () => {
  for (const ok of ['offer', 'a', 'chat.v2', 'x-y_z', 'A'.repeat(64)]) assert.equal(isEventName(ok), true, ok);
  for (const bad of ['', '1x', 'a b', 'a:b', 'a\nb', 'a\rb', 'A'.repeat(65), 'message', 'count', 'open', 'error', 'expelled', 42]) {
    assert.equal(isEventName(bad), false, String(bad));
  }
});

test('connection numbers: names round-trip; ids of other workers or odd shapes are not found', () => {
  const ids = new ConnectionIds('node7', 2, 36);
  const n = ids.take();
  assert.equal(ids.name(n), 'node7-2-10-0');
  assert.equal(ids.counterOf('node7-2-10-0'), n);
  for (let i = 0; i < 40; i++) ids.take();
  assert.equal(ids.counterOf(ids.name(40)), 40);
  for (const other of ['node7-3-10-0', 'node7-2-11-0', 'node7-2-10-00', 'node7-2-10-', 'node7-2-10-A', 'node7-2-10-0-1', `node7-2-10-${'z'.repeat(12)}`]) {
    assert.equal(ids.counterOf(other), undefined, other);
  }
});

test('a push encodes each format once, on demand', () => {
  const push = countPush(12);
  assert.equal(push.sse(), push.sse());
  assert.equal(push.sse().toString(), 'data: 12\n\n');
  assert.equal(push.ws()!.subarray(2).toString(), '{"type":"count","members":12}', 'a whole text frame');
  assert.deepEqual([...push.ws()!.subarray(0, 2)], [0x81, 29]);
  assert.equal(push.ws(), push.ws());
  const message = messagePush('offer', 'a\nb');
  assert.equal(message.sse().toString(), 'event: offer\ndata: a\ndata: b\n\n');
  assert.deepEqual(JSON.parse(message.ws()!.subarray(2).toString()), { type: 'message', event: 'offer', data: 'a\nb' });
  assert.deepEqual(JSON.parse(notificationPush('chat=a=b').ws()!.subarray(2).toString()), { type: 'message', event: 'chat', data: 'a=b' });
  assert.equal(notificationPush('chat=a=b').sse().toString(), 'data: chat=a=b\n\n');
});

test('page messages: one shape only', () => {
  assert.equal(parsePageMessage('{"type":"page","page":"/a?b=1"}'), '/a?b=1');
  for (const bad of ['', 'null', '[]', '"page"', '{"type":"page"}', '{"type":"page","page":1}', '{"type":"page","page":""}',
    '{"type":"x","page":"/a"}', '{"type":"page","page":"/a\\u0000"}', JSON.stringify({ type: 'page', page: 'x'.repeat(1025) })]) {
    assert.equal(parsePageMessage(bad), undefined, bad);
  }
});

test('a WebSocket viewer that stopped reading is terminated instead of buffered; nothing is written after its close', () => {
  const calls: string[] = [];
  const socket = {
    writableLength: 0, writableEnded: false,
    write: (frame: Buffer) => calls.push(`write ${frame.subarray(frame[1]! < 126 ? 2 : 4).toString()} opcode=${frame[0]! & 0x0f}`) > 0,
    end: () => { socket.writableEnded = true; calls.push('end'); },
    destroy: () => calls.push('destroy'),
  };
  const viewer = new WsViewer(new Room('r'), socket, 0, undefined, 's');
  assert.equal(viewer.send(countPush(1)), true);
  socket.writableLength = MAX_BUFFERED_BYTES + 1;
  assert.equal(viewer.send(countPush(2)), false);
  socket.writableLength = 0;
  viewer.end('shutdown');
  viewer.end('shutdown');
  assert.equal(viewer.send(countPush(3)), false, 'nothing after the end');
  viewer.ping();
  const goingAway = Buffer.from([0x03, 0xe9]).toString();
  assert.deepEqual(calls, ['write {"type":"count","members":1} opcode=1', 'destroy', `write ${goingAway} opcode=8`, 'end']);
});

test('the client-frame reader keeps nothing between frames, and only what is incomplete inside one', () => {
  const seen: string[] = [];
  const handlers: ClientFrameHandlers<string> = {
    message: (who, text) => { seen.push(`${who} message ${text}`); return true; },
    ping: (who, payload) => { seen.push(`${who} ping ${payload.toString()}`); },
    pong: (who) => { seen.push(`${who} pong`); },
    close: (who, code, reason) => { seen.push(`${who} close ${code} ${reason}`); },
    fail: (who, code, reason) => { seen.push(`${who} fail ${code} ${reason}`); },
  };
  const pong = clientFrame(0xa, '');
  assert.equal(readClientFrames(pong, undefined, handlers, 'a'), undefined, 'a whole frame leaves nothing');
  const text = clientFrame(0x1, 'héllo', { fin: false });
  const rest = clientFrame(0x0, ' world');
  let carry = readClientFrames(text.subarray(0, 3), undefined, handlers, 'a');
  assert.ok(carry !== undefined && carry !== 'stopped' && carry.bytes?.length === 3 && carry.message === undefined);
  carry = readClientFrames(text.subarray(3), carry, handlers, 'a');
  assert.ok(carry !== undefined && carry !== 'stopped' && carry.bytes === undefined && carry.message?.length === Buffer.byteLength('héllo'));
  assert.equal(readClientFrames(rest, carry, handlers, 'a'), undefined, 'the last fragment leaves nothing');
  const close = clientFrame(0x8, Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('done')]));
  assert.equal(readClientFrames(Buffer.concat([close, pong]), undefined, handlers, 'a'), 'stopped', 'nothing is read after a close');
  assert.equal(readClientFrames(clientFrame(0x3, 'x'), undefined, handlers, 'b'), 'stopped');
  const huge = Buffer.from([0x81, 0xff, 0, 0, 0, 1, 0, 0, 0, 0]);
  assert.equal(readClientFrames(huge, undefined, handlers, 'c'), 'stopped', 'too big, decided from the header alone');
  assert.deepEqual(seen, ['a pong', 'a message héllo world', 'a close 1000 done', 'b fail 1002 invalid opcode 3', 'c fail 1009 a message over 1024 bytes']);
});

test('empty fragments are not kept: a client cannot grow a fragmented message for free', () => {
  const seen: string[] = [];
  const handlers: ClientFrameHandlers<string> = {
    message: (who, text) => { seen.push(`${who} message ${text}`); return true; },
    ping: () => {},
    pong: () => {},
    close: () => {},
    fail: (who, code, reason) => { seen.push(`${who} fail ${code} ${reason}`); },
  };
  const first = readClientFrames(clientFrame(0x1, 'a', { fin: false }), undefined, handlers, 'a');
  assert.ok(first !== undefined && first !== 'stopped');
  let carry: ReaderCarry = first;
  const empty = clientFrame(0x0, '', { fin: false });
  for (let k = 0; k < 10_000; k++) {
    const next = readClientFrames(empty, carry, handlers, 'a');
    assert.ok(next !== undefined && next !== 'stopped');
    carry = next;
  }
  assert.equal(carry.message?.parts.length, 1, 'only the fragment with bytes is kept');
  assert.equal(readClientFrames(clientFrame(0x0, 'b'), carry, handlers, 'a'), undefined);
  assert.deepEqual(seen, ['a message ab']);
});
