// Identity tokens on the public port: only a valid token (--auth-secret, HS256) names a user; a bad,
// expired or wrong-namespace one gets 401 with a one-line reason, on both ways in (raw fast path, node:http).
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { sleep, startDaemon, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { httpRequest } from './helpers/http.js';
import { openViewer } from './helpers/sse-client.js';
import { AUTH_SECRET, signToken } from './helpers/tokens.js';

const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;

async function refusal(port: number, path: string): Promise<{ status: number; body: string }> {
  const reply = await httpRequest(port, path, { headers: { Accept: 'text/event-stream' } });
  return { status: reply.status, body: reply.body };
}

/** A stream request with a body: the raw fast path declines it, so node:http serves it. */
async function refusalViaHttp(port: number, path: string): Promise<{ status: number; body: string }> {
  const reply = await httpRequest(port, path, { method: 'POST', headers: { Accept: 'text/event-stream', 'Content-Length': '2' }, body: 'hi' });
  return { status: reply.status, body: reply.body };
}

async function usersIn(daemon: Daemon, ns: string): Promise<number | undefined> {
  return ((await daemon.stats())[ns] as { users?: number } | undefined)?.users;
}

describe('identity tokens', () => {
  let daemon: Daemon;
  before(async () => { daemon = await startDaemon(['-d', '--auth-secret', AUTH_SECRET, '--notify-min-delay', '0.1'], { workers: 2 }); });
  after(async () => { await daemon.stop(); });

  test('a good token opens a stream whose first event carries the session id; the user counts in `users`', async () => {
    const token = await signToken({ sub: 'alice', name: 'Alice' });
    const viewer = await openViewer(daemon.port, `/tok?token=${token}`);
    assert.equal(viewer.status, 200);
    assert.match(viewer.events[0]!.id ?? '', SESSION_ID);
    assert.equal(viewer.events[0]!.data, '1');
    await waitForMembers(daemon, 'tok', 1);
    assert.equal(await usersIn(daemon, 'tok'), 1);
    await waitFor(() => daemon.stderr().includes(`entry ${viewer.events[0]!.id} ns=tok user=alice`), 3000, 'the entry at the primary');
    viewer.close();
    await waitForMembers(daemon, 'tok', 0);
    assert.equal(await usersIn(daemon, 'tok'), 0);
  });

  test('a bad signature, an expired token or garbage: 401 with a one-line reason, no stream', async () => {
    const forged = await signToken({ secret: 'another-secret-0123456789' });
    const expired = await signToken({ expiresIn: -60 });
    for (const [token, reason] of [[forged, 'token signature is invalid'], [expired, 'token expired'], ['not.a.jwt', 'token is malformed or not HS256']] as const) {
      assert.deepEqual(await refusal(daemon.port, `/bad?token=${token}`), { status: 401, body: `${reason}\n` });
      assert.deepEqual(await refusalViaHttp(daemon.port, `/bad?token=${token}`), { status: 401, body: `${reason}\n` });
    }
    assert.equal((await daemon.stats()).bad?.members ?? 0, 0);
  });

  test('the ns claim, one name or a list, limits the namespaces a token opens', async () => {
    const one = await signToken({ sub: 'ns-one', ns: 'room-a' });
    const list = await signToken({ sub: 'ns-list', ns: ['room-a', 'room-b'] });
    const wrong = { status: 401, body: 'token is not valid for this namespace\n' };
    assert.deepEqual(await refusal(daemon.port, `/room-b?token=${one}`), wrong);
    assert.deepEqual(await refusal(daemon.port, `/room-c?token=${list}`), wrong);
    assert.deepEqual(await refusalViaHttp(daemon.port, `/room-c?token=${list}`), wrong);
    const viewers = [
      await openViewer(daemon.port, `/room-a?token=${one}`),
      await openViewer(daemon.port, `/room-a?token=${list}`),
      await openViewer(daemon.port, `/room-b?token=${list}`),
    ];
    await waitForMembers(daemon, 'room-a', 2);
    await waitForMembers(daemon, 'room-b', 1);
    assert.equal(await usersIn(daemon, 'room-a'), 2);
    for (const viewer of viewers) viewer.close();
  });

  test('anonymous viewers are counted without a user, whatever their query string says', async () => {
    const viewer = await openViewer(daemon.port, '/anon?user=mallory&sub=mallory&name=Mallory&uid=mallory');
    const id = viewer.events[0]!.id!;
    assert.match(id, SESSION_ID);
    await waitForMembers(daemon, 'anon', 1);
    assert.equal(await usersIn(daemon, 'anon'), 0);
    await waitFor(() => daemon.stderr().includes(`entry ${id} ns=anon user=-`), 3000, 'the anonymous entry');
    assert.doesNotMatch(daemon.stderr(), /mallory/i);
    viewer.close();
  });

  test('node:http serves token streams the same way', async () => {
    const token = await signToken({ sub: 'via-http' });
    // A body makes the raw fast path decline the request, so node:http serves it (chunked).
    const socket = connect(daemon.port, '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => { received += chunk; });
    socket.write(`POST /fallback?token=${token} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nContent-Length: 2\r\n\r\nhi`);
    await waitFor(() => /id: [\w-]{22}\ndata: 1\n\n/.test(received), 3000, 'the first event');
    assert.match(received, /Transfer-Encoding: chunked/);
    await waitFor(async () => (await usersIn(daemon, 'fallback')) === 1, 3000, 'one user');
    socket.destroy();
    await waitForMembers(daemon, 'fallback', 0);
  });

  test('viewers that disconnect while their token is verified are not left counted', async () => {
    const token = await signToken({ sub: 'gone' });
    for (let i = 0; i < 40; i++) {
      const socket = connect(daemon.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write(`GET /gone?token=${token} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`, () => socket.destroy());
    }
    await sleep(500);
    await waitForMembers(daemon, 'gone', 0);
    assert.equal(await usersIn(daemon, 'gone') ?? 0, 0);
  });

  test('sessions ids are unique per stream', async () => {
    const viewers = await Promise.all([0, 1, 2, 3].map(() => openViewer(daemon.port, '/ids')));
    const ids = new Set(viewers.map((v) => v.events[0]!.id));
    assert.equal(ids.size, 4);
    for (const viewer of viewers) viewer.close();
  });
});

describe('--require-auth', () => {
  let daemon: Daemon;
  before(async () => { daemon = await startDaemon(['--auth-secret', AUTH_SECRET, '--require-auth'], { workers: 1 }); });
  after(async () => { await daemon.stop(); });

  test('anonymous viewers get 401; viewers with a valid token are served', async () => {
    const required = { status: 401, body: 'a token is required (?token=)\n' };
    assert.deepEqual(await refusal(daemon.port, '/closed'), required);
    assert.deepEqual(await refusalViaHttp(daemon.port, '/closed'), required);
    const viewer = await openViewer(daemon.port, `/closed?token=${await signToken()}`);
    assert.equal(viewer.status, 200);
    await waitForMembers(daemon, 'closed', 1);
    viewer.close();
  });
});

describe('without --auth-secret', () => {
  let daemon: Daemon;
  before(async () => { daemon = await startDaemon([], { workers: 1 }); });
  after(async () => { await daemon.stop(); });

  test('a token cannot name anyone: 401 rather than a silent anonymous viewer', async () => {
    assert.deepEqual(await refusal(daemon.port, `/open?token=${await signToken()}`), {
      status: 401, body: 'this server accepts no tokens (no --auth-secret)\n',
    });
    const viewer = await openViewer(daemon.port, '/open');
    assert.equal(viewer.status, 200);
    viewer.close();
  });
});
