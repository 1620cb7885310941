// The public port's two ways in: the raw fast path for stream requests and node:http for the rest.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { sleep, startDaemon, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';

/** A raw connection that records everything it receives. */
function rawClient(port: number): { send(text: string): void; received(): string; closed(): boolean; close(): void } {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  let closed = false;
  socket.setEncoding('latin1').on('data', (chunk: string) => { text += chunk; });
  socket.on('close', () => { closed = true; }).on('error', () => { closed = true; });
  return { send: (t) => socket.write(t, 'latin1'), received: () => text, closed: () => closed, close: () => socket.destroy() };
}

describe('public listener', () => {
  let daemon: Daemon;
  before(async () => { daemon = await startDaemon(['--notify-min-delay', '0.1'], { workers: 2 }); });
  after(async () => { await daemon.stop(); });

  test('a stream request is answered with one close-delimited SSE response, frames unframed', async () => {
    const client = rawClient(daemon.port);
    client.send('GET /raw HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    await waitFor(() => client.received().includes('data: 1\n\n'), 3000, 'the first event');
    const [head] = client.received().split('\r\n\r\n');
    assert.match(head!, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head!, /\r\nContent-Type: text\/event-stream\r\n/);
    assert.match(head!, /\r\nConnection: close(\r\n|$)/);
    assert.doesNotMatch(head!, /Transfer-Encoding/i);
    await waitForMembers(daemon, 'raw', 1);
    client.close();
    await waitForMembers(daemon, 'raw', 0);
  });

  test('a head that arrives in pieces is read once complete', async () => {
    const client = rawClient(daemon.port);
    const text = 'GET /pieces HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n';
    for (let i = 0; i < text.length; i += 7) {
      client.send(text.slice(i, i + 7));
      await sleep(5);
    }
    await waitFor(() => client.received().includes('data: 1\n\n'), 3000, 'the first event');
    client.close();
  });

  test('a stream request with a body is still served, by node:http', async () => {
    const client = rawClient(daemon.port);
    client.send('POST /bodied HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nContent-Length: 2\r\n\r\nhi');
    await waitFor(() => /data: 1\n\n/.test(client.received()), 3000, 'the first event');
    assert.match(client.received(), /Transfer-Encoding: chunked/);
    await waitForMembers(daemon, 'bodied', 1);
    client.close();
    await waitForMembers(daemon, 'bodied', 0);
  });

  test('bytes sent after a stream request (pipelining) end that stream', async () => {
    const client = rawClient(daemon.port);
    client.send('GET /piped HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    await waitFor(() => client.received().includes('data: 1'), 3000, 'the first event');
    client.send('GET /other HTTP/1.1\r\n\r\n');
    await waitFor(() => client.closed(), 3000, 'the connection to close');
    await waitForMembers(daemon, 'piped', 0);
  });

  test('a keep-alive connection of plain requests is served by node:http, request after request', async () => {
    const client = rawClient(daemon.port);
    client.send('GET /client/audience.js HTTP/1.1\r\nHost: x\r\n\r\nGET /ns HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => (client.received().match(/HTTP\/1\.1 200 OK/g) ?? []).length === 2, 3000, 'two answers');
    client.close();
  });
});
