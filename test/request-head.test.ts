// The fast path's request-head reader: exact on what it accepts, and for anything else it declines
// (node:http then answers). Fuzzed with generated, mutated and random input: it must never throw.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_HEAD_BYTES, readRequestHead, type RequestHead } from '../src/worker/request-head.js';

/** A deterministic generator so a failure can be replayed (the seed is in the assertion message). */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state / 0x1_0000_0000;
  };
}

const PATH_CHARS = 'abcXYZ019-._~%!$&\'()*+,;=:@/?';
const VALUE_CHARS = 'abc XYZ/;=,*.-_019text/event-stream';

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

function word(rand: () => number, chars: string, max: number): string {
  let out = '';
  const length = 1 + Math.floor(rand() * max);
  for (let i = 0; i < length; i++) out += chars[Math.floor(rand() * chars.length)];
  return out;
}

interface Generated { bytes: Buffer; method: string; target: string; accept?: string; lastEventId?: string }

function generate(rand: () => number): Generated {
  const method = pick(rand, ['GET', 'POST'] as const);
  const target = `/${word(rand, PATH_CHARS, 40)}`;
  const headers: [string, string][] = [['Host', 'example.test']];
  let accept: string | undefined;
  let lastEventId: string | undefined;
  if (rand() < 0.8) headers.push([pick(rand, ['Accept', 'accept', 'ACCEPT']), (accept = word(rand, VALUE_CHARS, 30).trim() || 'x')]);
  if (rand() < 0.3) headers.push(['Last-Event-ID', (lastEventId = word(rand, 'abcdef0123456789', 20))]);
  if (rand() < 0.3) headers.push(['User-Agent', word(rand, VALUE_CHARS, 60).trim() || 'ua']);
  if (rand() < 0.2) headers.push(['Content-Length', '0']);
  if (rand() < 0.3) headers.push([`X-${word(rand, 'abcdefgh', 8)}`, word(rand, VALUE_CHARS, 20).trim()]);
  const text = `${method} ${target} HTTP/1.${rand() < 0.9 ? 1 : 0}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return { bytes: Buffer.from(text, 'latin1'), method, target, accept, lastEventId };
}

function assertSane(result: ReturnType<typeof readRequestHead>, bytes: Buffer, context: string): void {
  if (result === 'incomplete' || result === 'decline') return;
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
    const bytes = Buffer.from(generate(rand).bytes);
    const mutated = [...bytes];
    for (let n = 1 + Math.floor(rand() * 4); n > 0; n--) {
      const at = Math.floor(rand() * mutated.length);
      const op = rand();
      if (op < 0.4) mutated[at] = Math.floor(rand() * 256);
      else if (op < 0.7) mutated.splice(at, 1);
      else mutated.splice(at, 0, pick(rand, [0, 10, 13, 32, 58, 9, 127, 255, Math.floor(rand() * 256)]));
    }
    const input = Buffer.from(mutated);
    assertSane(readRequestHead(input), input, `seed ${seed}`);
  }
});

test('random bytes never throw', () => {
  for (let seed = 1; seed <= 5000; seed++) {
    const rand = random(seed);
    const input = Buffer.from(Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)));
    const withEnd = Buffer.concat([input, Buffer.from('\r\n\r\n')]);
    assertSane(readRequestHead(input), input, `seed ${seed}`);
    assertSane(readRequestHead(withEnd), withEnd, `seed ${seed}`);
  }
});

test('anything but a plain body-less GET or POST is declined for node:http to answer', () => {
  const declined = [
    'PUT /ns HTTP/1.1\r\n\r\n',
    'get /ns HTTP/1.1\r\n\r\n',
    'GET http://host/ns HTTP/1.1\r\n\r\n',
    'GET /ns HTTP/2.0\r\n\r\n',
    'GET /ns\r\n\r\n',
    'GET  /ns HTTP/1.1\r\n\r\n',
    'GET /n s HTTP/1.1\r\n\r\n',
    'POST /ns HTTP/1.1\r\nContent-Length: 5\r\n\r\n',
    'POST /ns HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n',
    'GET /ns HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
    'GET /ns HTTP/1.1\r\nExpect: 100-continue\r\n\r\n',
    'GET /ns HTTP/1.1\r\nAccept: text/event-stream\r\n folded\r\n\r\n',
    'GET /ns HTTP/1.1\r\nNo colon here\r\n\r\n',
    'GET /ns HTTP/1.1\r\nBad Name: x\r\n\r\n',
    'GET /ns HTTP/1.1\r\nX: a\rb\r\n\r\n',
    'GET /ns HTTP/1.1\r\nLast-Event-ID: 1\r\nLast-Event-ID: 2\r\n\r\n',
    `GET /${'a'.repeat(MAX_HEAD_BYTES)} HTTP/1.1\r\n\r\n`,
  ];
  for (const text of declined) assert.equal(readRequestHead(Buffer.from(text, 'latin1')), 'decline', JSON.stringify(text.slice(0, 80)));
  assert.equal(readRequestHead(Buffer.alloc(MAX_HEAD_BYTES, 'a')), 'decline', 'no end of head within the limit');
});

test('repeated Accept headers are joined, as node:http does', () => {
  const head = readRequestHead(Buffer.from('GET /ns HTTP/1.1\r\nAccept: text/html\r\nAccept: text/event-stream\r\n\r\n')) as RequestHead;
  assert.equal(head.accept, 'text/html, text/event-stream');
});
