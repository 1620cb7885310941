// The WebSocket handshake and framing on the raw socket, against the real daemon, from a bare-socket client:
// malformed handshakes answered 400 (never counted), the 101 with its accept key and the first count frame,
// frames that came with the head, fragmented page messages with a ping between the fragments, the client's
// close answered, protocol errors closed with their codes, and an upgrade node:http read (a head the fast
// path declines) served the same way.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startDaemon, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { httpRequest } from './helpers/http.js';
import { clientFrame, closePayload, RawWs, upgradeHead } from './helpers/raw-ws.js';

const TEXT = 0x1;
const BINARY = 0x2;
const CONTINUATION = 0x0;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

function acceptFor(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

function closeCode(payload: Buffer): number {
  return payload.readUInt16BE(0);
}

async function pagesListed(daemon: Daemon, ns: string): Promise<Array<string | null>> {
  const reply = await httpRequest(daemon.notificationPort, `/api/connections?ns=${ns}`);
  return (JSON.parse(reply.body) as { connections: Array<{ page: string | null }> }).connections.map((c) => c.page);
}

describe('WebSocket handshake and frames on the raw socket', () => {
  let daemon: Daemon;
  const open: RawWs[] = [];
  const client = (head: string | Buffer): RawWs => {
    const ws = new RawWs(daemon.port, head);
    open.push(ws);
    return ws;
  };
  before(async () => { daemon = await startDaemon(['-d'], { workers: 1 }); });
  after(async () => {
    for (const ws of open) ws.close();
    await daemon.stop();
  });

  test('a malformed handshake is answered 400 with its reason, and never counted', async () => {
    const cases: Array<[Record<string, string | undefined>, string]> = [
      [{ 'Sec-WebSocket-Key': 'too-short' }, 'Missing or invalid Sec-WebSocket-Key header'],
      [{ 'Sec-WebSocket-Key': undefined }, 'Missing or invalid Sec-WebSocket-Key header'],
      [{ 'Sec-WebSocket-Version': '12' }, 'Missing or invalid Sec-WebSocket-Version header'],
      [{ 'Sec-WebSocket-Version': undefined }, 'Missing or invalid Sec-WebSocket-Version header'],
      [{ Upgrade: 'h2c' }, 'Invalid Upgrade header'],
      [{ 'Sec-WebSocket-Protocol': 'a, a' }, 'Invalid Sec-WebSocket-Protocol header'],
    ];
    for (const [headers, reason] of cases) {
      const ws = client(upgradeHead('/shake', headers).head);
      const head = await ws.head();
      assert.equal(head.status, 400, JSON.stringify(headers));
      await waitFor(() => ws.ended, 5000, 'the refused connection to end');
      assert.equal(ws.body().toString(), `${reason}\n`, JSON.stringify(headers));
      if (reason.includes('Version')) assert.equal(head.headers['sec-websocket-version'], '13, 8');
    }
    assert.equal((await daemon.stats()).shake?.members ?? 0, 0);
  });

  test('the 101 carries the accept key and the chosen subprotocol, then the first count; frames sent with the head are read', async () => {
    const { head, key } = upgradeHead('/shake', { 'Sec-WebSocket-Protocol': 'audience, other' });
    // A page message in the same packet as the head: the reader takes what followed it.
    const ws = client(Buffer.concat([Buffer.from(head), clientFrame(TEXT, '{"type":"page","page":"/with-head"}')]));
    const answer = await ws.head();
    assert.equal(answer.status, 101);
    assert.equal(answer.headers['sec-websocket-accept'], acceptFor(key));
    assert.equal(answer.headers['sec-websocket-protocol'], 'audience');
    assert.equal(answer.headers['sec-websocket-extensions'], undefined, 'no compression offered back');
    const first = await ws.waitForFrame((f) => f.opcode === TEXT, 'the first count');
    assert.deepEqual(JSON.parse(first.payload.toString()), { type: 'count', members: 1 });
    await waitFor(async () => (await pagesListed(daemon, 'shake')).includes('/with-head'), 5000, 'the page listed');
    ws.close();
    await waitForMembers(daemon, 'shake', 0);
  });

  test('a fragmented page message, split across writes with a ping between its fragments, arrives whole; the ping is answered', async () => {
    const ws = client(upgradeHead('/fragments').head);
    await ws.waitForFrame((f) => f.opcode === TEXT, 'the first count');
    const message = '{"type":"page","page":"/in/three/parts"}';
    const bytes = Buffer.concat([
      clientFrame(TEXT, message.slice(0, 10), { fin: false }),
      clientFrame(PING, 'are you there'),
      clientFrame(CONTINUATION, message.slice(10, 25), { fin: false }),
      clientFrame(CONTINUATION, message.slice(25)),
    ]);
    // One byte at a time: every frame boundary and header split is crossed.
    for (let i = 0; i < bytes.length; i++) ws.write(bytes.subarray(i, i + 1));
    const pong = await ws.waitForFrame((f) => f.opcode === PONG, 'the pong');
    assert.equal(pong.payload.toString(), 'are you there');
    await waitFor(async () => (await pagesListed(daemon, 'fragments')).includes('/in/three/parts'), 5000, 'the whole page message');
    assert.equal(ws.ended, false);
  });

  test("the client's close is answered with its code, then the connection ends and the viewer leaves", async () => {
    const ws = client(upgradeHead('/closing').head);
    await ws.waitForFrame((f) => f.opcode === TEXT, 'the first count');
    await waitForMembers(daemon, 'closing', 1);
    ws.write(clientFrame(CLOSE, closePayload(4000, 'bye')));
    const close = await ws.waitForFrame((f) => f.opcode === CLOSE, 'the close answer');
    assert.equal(closeCode(close.payload), 4000);
    await waitFor(() => ws.ended, 5000, 'the server to end the connection');
    await waitForMembers(daemon, 'closing', 0);
  });

  test('protocol errors close with their codes: 1002 unmasked or reserved bits or a stray continuation, 1007 invalid UTF-8, 1009 too big, 1008 binary', async () => {
    const cases: Array<[Buffer, number]> = [
      [clientFrame(TEXT, '{}', { mask: false }), 1002],
      [clientFrame(TEXT, '{}', { rsv: 4 }), 1002],
      [clientFrame(CONTINUATION, 'x'), 1002],
      [clientFrame(PING, 'x', { fin: false }), 1002],
      [clientFrame(CLOSE, closePayload(1005)), 1002],
      [clientFrame(TEXT, Buffer.from([0x7b, 0xff, 0x7d])), 1007],
      [clientFrame(TEXT, 'x'.repeat(1025)), 1009],
      [Buffer.concat([clientFrame(TEXT, 'x'.repeat(600), { fin: false }), clientFrame(CONTINUATION, 'x'.repeat(600))]), 1009],
      [clientFrame(BINARY, '{"type":"page","page":"/x"}'), 1008],
    ];
    for (const [frame, code] of cases) {
      const ws = client(upgradeHead('/errors').head);
      await ws.waitForFrame((f) => f.opcode === TEXT, 'the first count');
      ws.write(frame);
      const close = await ws.waitForFrame((f) => f.opcode === CLOSE, `the close for ${code}`);
      assert.equal(closeCode(close.payload), code, frame.subarray(0, 2).toString('hex'));
      await waitFor(() => ws.ended, 5000, 'the connection to end');
    }
    await waitForMembers(daemon, 'errors', 0);
  });

  test('an upgrade in a shape the fast path declines (a repeated header) is served the same way through node:http', async () => {
    const { head, key } = upgradeHead('/fallback');
    const repeated = head.replace('\r\n\r\n', '\r\nSec-WebSocket-Protocol: first\r\nSec-WebSocket-Protocol: second\r\n\r\n');
    const ws = client(repeated);
    const answer = await ws.head();
    assert.equal(answer.status, 101);
    assert.equal(answer.headers['sec-websocket-accept'], acceptFor(key));
    assert.equal(answer.headers['sec-websocket-protocol'], 'first', 'node:http joined the two');
    await ws.waitForFrame((f) => f.opcode === TEXT, 'the first count');
    await waitForMembers(daemon, 'fallback', 1);
    ws.write(clientFrame(CLOSE, closePayload(1000)));
    await ws.waitForFrame((f) => f.opcode === CLOSE, 'the close answer');
    await waitForMembers(daemon, 'fallback', 0);
  });
});
