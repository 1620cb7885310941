// The fast path's request-head reader: exact on what it accepts, refusing what cannot be HTTP/1.x at its
// first such byte, and for anything else it declines (node:http then answers). Fuzzed with generated, mutated and random input: it must never throw.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_HEAD_BYTES, readRequestHead, type RequestHead } from '../src/worker/request-head.js';
import { generate, mutate, random, randomBytes } from './helpers/head-fuzz.js';

function assertSane(result: ReturnType<typeof readRequestHead>, bytes: Buffer, context: string): void {
  if (typeof result === 'string') return;
  const head = result as RequestHead;
  assert.ok(head.method === 'GET' || head.method === 'POST', context);
  assert.ok(head.target.startsWith('/'), context);
  assert.ok(!/[\x00-\x20\x7f]/.test(head.target), `${context}: the target has no spaces or controls`);
  for (const value of [head.accept, head.lastEventId, head.userAgent, head.referer, head.forwardedFor]) {
    if (value !== undefined) assert.ok(!/[\r\n\0]/.test(value), `${context}: no CR, LF or NUL in a value`);
  }
  assert.ok(head.length <= bytes.length && head.length <= MAX_HEAD_BYTES, context);
  assert.equal(bytes.toString('latin1', head.length - 4, head.length), '\r\n\r\n', context);
}

test('generated stream requests are read exactly', () => {
  for (let seed = 1; seed <= 3000; seed++) {
    const g = generate(random(seed));
    const head = readRequestHead(g.bytes);
    assert.notEqual(typeof head, 'string', `seed ${seed}: ${JSON.stringify(g.bytes.toString('latin1'))}`);
    const h = head as RequestHead;
    assert.equal(h.method, g.method, `seed ${seed}`);
    assert.equal(h.target, g.target, `seed ${seed}`);
    assert.equal(h.accept, g.accept, `seed ${seed}`);
    assert.equal(h.lastEventId, g.lastEventId, `seed ${seed}`);
    assert.equal(h.length, g.bytes.length, `seed ${seed}`);
  }
});

test('every proper prefix of a head is incomplete, whatever the split', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const { bytes } = generate(random(seed));
    for (let cut = 0; cut < bytes.length; cut++) assert.equal(readRequestHead(bytes.subarray(0, cut)), 'incomplete', `seed ${seed} cut ${cut}`);
  }
});

test('mutated heads never throw and never yield a malformed head', () => {
  for (let seed = 1; seed <= 20_000; seed++) {
    const rand = random(seed);
    const input = mutate(rand, generate(rand).bytes);
    assertSane(readRequestHead(input), input, `seed ${seed}`);
  }
});

test('random bytes never throw', () => {
  for (let seed = 1; seed <= 5000; seed++) {
    const rand = random(seed);
    const input = randomBytes(rand, 300);
    const withEnd = Buffer.concat([input, Buffer.from('\r\n\r\n')]);
    assertSane(readRequestHead(input), input, `seed ${seed}`);
    assertSane(readRequestHead(withEnd), withEnd, `seed ${seed}`);
  }
});

test('bytes that cannot be an HTTP/1.x head are refused at the first such byte, complete or not', () => {
  const malformed = [
    'GET /ns HTTP/2.0\r\n\r\n',
    'GET /ns\r\n\r\n',
    'GET /ns\r\n',
    'GET  /ns HTTP/1.1\r\n\r\n',
    'GET /n s HTTP/1.1\r\n\r\n',
    'GET /ns HTTP/1.1\r\nNo colon here\r\n\r\n',
    'GET /ns HTTP/1.1\r\nBad Name: x\r\n\r\n',
    'GET /ns HTTP/1.1\r\nX: a\rb\r\n\r\n',
    '\r\n\r\n',
    ' GET /ns HTTP/1.1\r\n\r\n',
  ];
  // Still arriving, but already off the grammar: no end of head is needed to decide.
  const offAlready = [
    'GET /ns HTTP/1.1\n',
    'GET /ns HTTP/1.1\nAccept: text/event-stream\n\n',
    'GET /ns HTTP/1.1\r\nAccept: text/event-stream\n',
    'GET /ns HTTP/1.1\r\nX: \0',
    'GET /ns HTTP/1.2',
    'GET /ns FTP',
    'GET /ns\r\n',
    'GE\x01',
    '\x00\x00\x00',
    'GET /ns HTTP/1.1\r\nBad Name',
    'GET /ns HTTP/1.1\rX',
  ];
  for (const text of [...malformed, ...offAlready]) assert.equal(readRequestHead(Buffer.from(text, 'latin1')), 'malformed', JSON.stringify(text));
  const clientHello = Buffer.from('16030100f8010000f40303', 'hex');
  assert.equal(readRequestHead(clientHello), 'foreign', 'a TLS ClientHello');
  assert.equal(readRequestHead(clientHello.subarray(0, 1)), 'foreign', 'its first byte is enough');
  assert.equal(readRequestHead(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), 'foreign', 'the HTTP/2 preface');
  assert.equal(readRequestHead(Buffer.from('PRI * HTTP/2')), 'foreign', 'decided at its version');
  for (const text of ['PRI * HTTP/', 'GET /ns HTTP/1.', 'GET /ns HTTP/1.1\r', 'GET /ns HTTP/1.1\r\nX: y\r\n\r']) {
    assert.equal(readRequestHead(Buffer.from(text)), 'incomplete', JSON.stringify(text));
  }
});

test('anything but a plain body-less GET or POST is declined for node:http to answer', () => {
  const declined = [
    'PUT /ns HTTP/1.1\r\n\r\n',
    'get /ns HTTP/1.1\r\n\r\n',
    'GET http://host/ns HTTP/1.1\r\n\r\n',
    'POST /ns HTTP/1.1\r\nContent-Length: 5\r\n\r\n',
    'POST /ns HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n',
    'GET /ns HTTP/1.1\r\nUpgrade: websocket\r\n\r\n',
    'GET /ns HTTP/1.1\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    'GET /ns HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: a\r\nSec-WebSocket-Key: b\r\n\r\n',
    'GET /ns HTTP/1.1\r\nExpect: 100-continue\r\n\r\n',
    'GET /ns HTTP/1.1\r\nAccept: text/event-stream\r\n folded\r\n\r\n',
    'GET /ns HTTP/1.1\r\nLast-Event-ID: 1\r\nLast-Event-ID: 2\r\n\r\n',
    `GET /${'a'.repeat(MAX_HEAD_BYTES)} HTTP/1.1\r\n\r\n`,
  ];
  for (const text of declined) assert.equal(readRequestHead(Buffer.from(text, 'latin1')), 'decline', JSON.stringify(text.slice(0, 80)));
  assert.equal(readRequestHead(Buffer.alloc(MAX_HEAD_BYTES, 'a')), 'decline', 'no end of head within the limit');
});

test('a WebSocket upgrade (Upgrade and Connection: upgrade) is read with the headers its handshake checks', () => {
  const text = 'GET /ns?token=t HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n'
    + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a, b\r\nUser-Agent: UA\r\n\r\n';
  const head = readRequestHead(Buffer.from(`${text}\x81\x80`)) as RequestHead;
  assert.equal(head.target, '/ns?token=t');
  assert.equal(head.userAgent, 'UA');
  assert.equal(head.length, text.length, 'frames after the head are not part of it');
  assert.deepEqual(head.upgrade, { upgrade: 'websocket', key: 'dGhlIHNhbXBsZSBub25jZQ==', version: '13', protocol: 'a, b' });
  const stream = readRequestHead(Buffer.from('GET /ns HTTP/1.1\r\nAccept: text/event-stream\r\nConnection: Upgrade\r\n\r\n')) as RequestHead;
  assert.equal(stream.upgrade, undefined, 'Connection: upgrade alone is no upgrade');
});

test('repeated Accept headers are joined, as node:http does', () => {
  const head = readRequestHead(Buffer.from('GET /ns HTTP/1.1\r\nAccept: text/html\r\nAccept: text/event-stream\r\n\r\n')) as RequestHead;
  assert.equal(head.accept, 'text/html, text/event-stream');
});
