// --max-namespaces and --max-conns-per-ip on the real daemon: the limit holds across workers (connections
// alternate between two), the client gets 503 with a one-line reason on every transport, the log warns once,
// and the limit lets go when the namespaces are deleted or the connections close.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ALTERNATE_WORKERS, startDaemon, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { openViewer, SseClient } from './helpers/sse-client.js';
import { wsRefusal } from './helpers/ws-client.js';

const NAMESPACES_REASON = 'too many namespaces on this server (--max-namespaces); try again later\n';
const ADDRESS_REASON = 'too many connections from this address (--max-conns-per-ip)\n';

/** A stream request the daemon refuses: its status and body. */
async function refused(port: number, path: string, init?: ConstructorParameters<typeof SseClient>[2]): Promise<{ status: number; body: string }> {
  const client = new SseClient(port, path, init);
  await client.waitForEnd();
  return { status: client.status, body: client.body };
}

/** Opens streams until one is admitted (each refusal ends by itself), and returns it. */
async function admittedEventually(port: number, path: string, init?: ConstructorParameters<typeof SseClient>[2]): Promise<SseClient> {
  let admitted: SseClient | undefined;
  await waitFor(async () => {
    const client = new SseClient(port, path, init);
    await client.waitForResponse();
    if (client.status === 200) admitted = client;
    else await client.waitForEnd();
    return admitted !== undefined;
  }, 5000, `a stream to ${path} to be admitted`);
  await admitted!.waitForEvents(1);
  return admitted!;
}

describe('--max-namespaces', () => {
  let daemon: Daemon;
  before(async () => {
    daemon = await startDaemon(['--max-namespaces', '3', '--namespace-clean-delay', '1'], { workers: 2, env: ALTERNATE_WORKERS });
  });
  after(async () => { await daemon.stop(); });

  test('a new namespace past the limit gets 503; live ones keep admitting on every worker', async () => {
    const viewers = [await openViewer(daemon.port, '/ns-a'), await openViewer(daemon.port, '/ns-b'), await openViewer(daemon.port, '/ns-c')];
    await waitFor(async () => Object.keys(await daemon.stats()).length === 3, 5000, 'three namespaces in the table');
    await waitFor(() => /reached --max-namespaces 3/.test(daemon.stderr()), 5000, 'the warning');
    // The workers alternate: each kind of request below reaches both of them at least once.
    for (let k = 0; k < 2; k++) {
      assert.deepEqual(await refused(daemon.port, '/ns-d'), { status: 503, body: NAMESPACES_REASON }, 'the fast path');
      assert.deepEqual(await refused(daemon.port, '/ns-d', { method: 'POST', headers: { 'Content-Length': '2' } }), { status: 503, body: NAMESPACES_REASON }, 'node:http');
      assert.deepEqual(await wsRefusal(daemon.port, '/ns-d'), { status: 503, body: NAMESPACES_REASON }, 'WebSocket');
    }
    // A namespace the table holds with viewers is not new: a second and a third viewer join it, whichever worker takes them.
    const more = [await openViewer(daemon.port, '/ns-a'), await openViewer(daemon.port, '/ns-a')];
    await waitForMembers(daemon, 'ns-a', 3);
    assert.equal(daemon.stderr().match(/reached --max-namespaces/g)?.length, 1, 'one warning line');
    for (const viewer of [...viewers, ...more]) viewer.close();
    // Emptied namespaces still count until the clean delay deletes them; then new ones are admitted again.
    await waitFor(async () => Object.keys(await daemon.stats()).length === 0, 10_000, 'the namespaces to be deleted');
    const late = await admittedEventually(daemon.port, '/ns-d');
    assert.equal(late.status, 200);
    late.close();
  });
});

describe('--max-conns-per-ip', () => {
  let daemon: Daemon;
  before(async () => {
    daemon = await startDaemon(['--max-conns-per-ip', '2', '--trust-proxy'], { workers: 2, env: ALTERNATE_WORKERS });
  });
  after(async () => { await daemon.stop(); });

  test('an address past its limit gets 503 on this node, whichever worker; others are not affected', async () => {
    const from5 = { localAddress: '127.0.0.5' };
    const held = [await openViewer(daemon.port, '/ip', from5), await openViewer(daemon.port, '/ip', from5)];
    await waitForMembers(daemon, 'ip', 2);
    await waitFor(() => /127\.0\.0\.5 reached --max-conns-per-ip 2/.test(daemon.stderr()), 5000, 'the warning');
    for (let k = 0; k < 2; k++) {
      assert.deepEqual(await refused(daemon.port, '/ip', from5), { status: 503, body: ADDRESS_REASON });
      assert.deepEqual(await refused(daemon.port, '/elsewhere', from5), { status: 503, body: ADDRESS_REASON }, 'per address, not per namespace');
    }
    const other = await openViewer(daemon.port, '/ip', { localAddress: '127.0.0.6' });
    assert.equal(other.status, 200, 'another address is admitted');
    held[0]!.close();
    await waitForMembers(daemon, 'ip', 2);
    // The workers learn it from the primary's next verdict: a refused attempt meanwhile changes nothing.
    const again = await admittedEventually(daemon.port, '/ip', from5);
    assert.equal(again.status, 200, 'below the limit again once one of its streams closed');
    for (const viewer of [held[1]!, other, again]) viewer.close();
  });

  test('a burst from one address within one report tick passes the limit by at most (workers - 1) × the limit', async () => {
    // 40 stream requests written at once, before any report could tell the primary: each worker still
    // refuses the address once it alone holds the limit.
    const BURST = 40;
    const sockets: Socket[] = await Promise.all(Array.from({ length: BURST }, () => new Promise<Socket>((resolve, reject) => {
      const socket = connect({ port: daemon.port, host: '127.0.0.1', localAddress: '127.0.0.8' }, () => resolve(socket));
      socket.on('error', reject);
    })));
    const statuses = await Promise.all(sockets.map((socket) => new Promise<string>((resolve) => {
      let head = '';
      socket.on('data', (chunk: Buffer) => {
        head += chunk.toString('latin1');
        const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
        if (status !== undefined) resolve(status);
      });
      socket.on('close', () => resolve('closed'));
      socket.write('GET /burst HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n');
    })));
    for (const socket of sockets) socket.destroy();
    const admitted = statuses.filter((status) => status === '200').length;
    assert.equal(admitted + statuses.filter((status) => status === '503').length, BURST, `every request answered 200 or 503: ${statuses.join(' ')}`);
    assert.ok(admitted >= 2 && admitted <= 2 * 2, `${admitted} of ${BURST} admitted: at least the limit (2), at most 2 workers × 2`);
    await waitFor(async () => ((await daemon.stats())['burst']?.members ?? 0) === 0, 5000, 'the burst to leave');
  });

  test('behind a trusted proxy, the forwarded address is the one counted', async () => {
    const viaProxy = (client: string) => ({ localAddress: '127.0.0.7', headers: { 'X-Forwarded-For': client } });
    const held = [await openViewer(daemon.port, '/proxied', viaProxy('203.0.113.9')), await openViewer(daemon.port, '/proxied', viaProxy('203.0.113.9'))];
    await waitForMembers(daemon, 'proxied', 2);
    assert.deepEqual(await refused(daemon.port, '/proxied', viaProxy('203.0.113.9')), { status: 503, body: ADDRESS_REASON });
    const neighbour = await openViewer(daemon.port, '/proxied', viaProxy('203.0.113.10'));
    assert.equal(neighbour.status, 200, 'another client behind the same proxy');
    for (const viewer of [...held, neighbour]) viewer.close();
  });
});
