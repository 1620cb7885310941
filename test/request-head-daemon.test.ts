// The head reader on the real daemon, fuzzed: generated, mutated and random heads, bare-LF heads, TLS
// ClientHellos, the HTTP/2 preface and HTTP/0.9 requests, each sent once on its own socket and never
// followed by another byte. Every one must be answered or closed by the reader's decision: the head
// deadline (10 s) would close a socket too, so the daemon runs with --debug and the test checks that it
// never logged dropping a connection at the deadline.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { generate, mutate, random, randomBytes } from './helpers/head-fuzz.js';
import { startDaemon, type Daemon } from './helpers/daemon.js';
import { rawExchange } from './helpers/http.js';

const DEADLINE_LOG = /no complete request head/;
/** Far beyond the daemon's 10 s head deadline: only a hang reaches it. */
const HANG_MS = 30_000;
const PARALLEL = 40;
const END = Buffer.from('\r\n\r\n');
// A ClientHello as curl sends it for https:// on a plain port (record header, handshake header, version, random…).
const CLIENT_HELLO = Buffer.from('1603010200010001fc0303' + 'ab'.repeat(32) + '20' + 'cd'.repeat(32) + '0004130113021303', 'hex');
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

interface Outcome { received: Buffer; closed: boolean }

/** Sends `bytes` once and waits for the first answer byte or the close, whichever comes first. */
function sendOnce(port: number, bytes: Buffer, localAddress: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(hang);
      socket.destroy();
      resolve({ received: Buffer.concat(chunks), closed });
    };
    const hang = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer and no close for ${JSON.stringify(bytes.toString('latin1').slice(0, 120))}`));
    }, HANG_MS);
    socket.on('connect', () => socket.write(bytes));
    // The first bytes of the answer are enough: what was decided is in the status line.
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (Buffer.concat(chunks).includes('\r\n')) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
  });
}

interface Case { name: string; bytes: Buffer; expect?: 'status-400' | 'closed-silently' }

function cases(): Case[] {
  const all: Case[] = [];
  for (let seed = 1; seed <= 60; seed++) all.push({ name: `generated ${seed}`, bytes: generate(random(seed)).bytes });
  for (let seed = 1; seed <= 150; seed++) {
    const rand = random(10_000 + seed);
    // Ended, so that a mutation of the head's end leaves no head that could still go on.
    all.push({ name: `mutated ${seed}`, bytes: Buffer.concat([mutate(rand, generate(rand).bytes), END]) });
  }
  for (let seed = 1; seed <= 60; seed++) all.push({ name: `random ${seed}`, bytes: Buffer.concat([randomBytes(random(20_000 + seed), 300), END]) });
  for (let seed = 1; seed <= 30; seed++) {
    const head = generate(random(30_000 + seed)).bytes.toString('latin1').replaceAll('\r\n', '\n');
    all.push({ name: `bare LF ${seed}`, bytes: Buffer.from(head, 'latin1'), expect: 'status-400' });
  }
  all.push({ name: 'bare LF, one line', bytes: Buffer.from('GET /ns HTTP/1.1\n'), expect: 'status-400' });
  for (let k = 0; k < 10; k++) {
    all.push({ name: `TLS ClientHello ${k}`, bytes: CLIENT_HELLO.subarray(0, 1 + k * 20), expect: 'closed-silently' });
    all.push({ name: `HTTP/2 preface ${k}`, bytes: HTTP2_PREFACE.subarray(0, 12 + k), expect: 'closed-silently' });
  }
  for (const text of ['GET /ns\r\n', 'GET /ns\r\n\r\n', 'GET /ns/uuid\r\n', 'POST /ns\r\n']) {
    all.push({ name: `HTTP/0.9 ${JSON.stringify(text)}`, bytes: Buffer.from(text), expect: 'status-400' });
  }
  return all;
}

describe('the head reader on the real daemon', () => {
  let daemon: Daemon;
  before(async () => { daemon = await startDaemon(['--debug'], { workers: 2 }); });
  after(async () => { await daemon.stop(); });

  test('every head is answered or closed by the reader, never left to the deadline', async () => {
    const todo = cases();
    const failures: string[] = [];
    let next = 0;
    async function lane(k: number): Promise<void> {
      while (next < todo.length) {
        const c = todo[next++]!;
        const outcome = await sendOnce(daemon.port, c.bytes, `127.0.0.${2 + (k % 8)}`);
        const status = /^HTTP\/1\.1 (\d{3}) /.exec(outcome.received.toString('latin1'))?.[1];
        if (outcome.received.length > 0 && status === undefined) failures.push(`${c.name}: an answer that is no HTTP/1.1 status line`);
        if (c.expect === 'status-400' && status !== '400') failures.push(`${c.name}: ${status ?? 'no answer'} instead of 400`);
        if (c.expect === 'closed-silently' && (outcome.received.length > 0 || !outcome.closed)) failures.push(`${c.name}: answered instead of closed`);
      }
    }
    await Promise.all(Array.from({ length: PARALLEL }, (_, k) => lane(k)));
    assert.deepEqual(failures, []);
    assert.ok(todo.length >= 300, 'a few hundred cases');
    assert.doesNotMatch(daemon.stderr(), DEADLINE_LOG, 'no socket was left to the head deadline');
    // And the daemon still serves.
    const stream = await sendOnce(daemon.port, Buffer.from('GET /after HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n'), '127.0.0.2');
    assert.match(stream.received.toString('latin1'), /^HTTP\/1\.1 200 /);
  });

  test("node:http, which serves a connection's later requests, refuses HTTP/0.9 and 2.0 request lines too, and answers CONNECT", async () => {
    // A probe first, kept alive, so the request after it is node:http's to parse, not the reader's.
    for (const later of ['GET /ns\r\n\r\n', 'GET /ns HTTP/2.0\r\nAccept: text/event-stream\r\n\r\n']) {
      const answers = await rawExchange(daemon.port, `GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n${later}`);
      assert.match(answers, /^HTTP\/1\.1 200 [^]*\r\n\r\nalive\nHTTP\/1\.1 400 [^]*\r\n\r\nnot an HTTP\/1\.x request/, JSON.stringify(later));
    }
    assert.match(await rawExchange(daemon.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'), /^HTTP\/1\.1 405 /);
  });

  test('a head that stops short is still cut at the deadline (the check above can fail)', async () => {
    const outcome = await sendOnce(daemon.port, Buffer.from('GET /slow HTTP/1.1\r\nAccept: text/'), '127.0.0.3');
    assert.equal(outcome.received.length, 0);
    assert.ok(outcome.closed);
    assert.match(daemon.stderr(), DEADLINE_LOG);
  });
});
