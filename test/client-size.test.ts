// The browser files in client/ are served as-is: check they parse, that
// audience.js stays under its size budget once minified, and that its event
// handling does what the README says (against a stand-in EventSource; the
// real-browser tests cover the rest).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import vm from 'node:vm';
import { minify } from 'terser';

// Compiled to dist/test/, so the repository root is two levels up.
const clientFile = (name: string): URL => new URL(`../../client/${name}`, import.meta.url);
const SIZE_BUDGET = 3072;

test('audience.js minifies under 3 KB', async () => {
  const source = await readFile(clientFile('audience.js'), 'utf8');
  const { code } = await minify(source, { compress: true, mangle: true });
  assert.ok(code, 'terser produced no output');
  const size = Buffer.byteLength(code, 'utf8');
  assert.ok(size < SIZE_BUDGET, `minified audience.js is ${size} bytes, budget ${SIZE_BUDGET}`);
});

test('jquery.audience.js parses', async () => {
  const source = await readFile(clientFile('jquery.audience.js'), 'utf8');
  const { code } = await minify(source); // throws on a syntax error
  assert.ok(code);
});

test('demo.html carries its placeholders and writes text only', async () => {
  const html = await readFile(clientFile('demo.html'), 'utf8');
  for (const needle of ['{{PUBLIC_URL}}/client/audience.js', '{{NAMESPACE_JSON}}',
    'id="count"', 'id="namespace"', 'id="messages"']) {
    assert.ok(html.includes(needle), `demo.html lacks ${needle}`);
  }
  assert.ok(!/innerHTML|outerHTML|insertAdjacentHTML|document\.write/.test(html),
    'demo.html must not write HTML from data');
  assert.ok(!/(src|href)="(https?:)?\/\//.test(html.replace(/\{\{PUBLIC_URL\}\}/g, '')),
    'demo.html must not load external resources');
  // The inline script must parse once the daemon fills the placeholders in.
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1];
  assert.ok(script, 'demo.html has no inline script');
  await minify(script.replace('{{NAMESPACE_JSON}}', JSON.stringify('ns')));
});

// --- behaviour of audience.js against a stand-in EventSource ---------------

type Listener = (e: { data?: string; lastEventId?: string }) => void;

// Objects made inside the vm context have that context's Object.prototype, which
// deepStrictEqual would reject: compare their plain JSON shape.
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

class FakeEventSource {
  static instances: FakeEventSource[] = [];
  readonly listeners = new Map<string, Listener[]>();
  closed = false;
  constructor(readonly url: string, readonly init?: { withCredentials?: boolean }) {
    FakeEventSource.instances.push(this);
  }
  addEventListener(type: string, fn: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  close(): void {
    this.closed = true;
  }
  // What the browser does when the stream delivers an event.
  fire(type: string, data?: string, lastEventId = ''): void {
    if (this.closed) return;
    for (const fn of this.listeners.get(type) ?? []) fn({ data, lastEventId });
  }
}

interface Handle {
  count: number | null;
  source: FakeEventSource;
  on(type: string, fn: (arg: unknown) => void): Handle;
  close(): void;
}
type Audience = ((url: string, options?: { withCredentials?: boolean }) => Handle) & { events: string[] };

async function loadAudience(): Promise<Audience> {
  const source = await readFile(clientFile('audience.js'), 'utf8');
  FakeEventSource.instances = [];
  const window: Record<string, unknown> = { EventSource: FakeEventSource, setTimeout };
  window.window = window;
  vm.runInNewContext(source, window, { filename: 'audience.js' });
  assert.equal(typeof window.audience, 'function', 'audience.js did not define window.audience');
  return window.audience as Audience;
}

test('audience() opens the stream and parses counts', async () => {
  const audience = await loadAudience();
  const handle = audience('http://meter.test/ns', { withCredentials: true });
  const es = FakeEventSource.instances[0]!;
  assert.equal(es.url, 'http://meter.test/ns');
  assert.equal(es.init?.withCredentials, true);
  assert.equal(handle.source, es);
  assert.equal(handle.count, null);

  const a: unknown[] = [];
  const b: unknown[] = [];
  assert.equal(handle.on('count', (n) => a.push(n)), handle, 'on() chains');
  handle.on('count', (n) => b.push(n));
  es.fire('message', '123');
  es.fire('message', '0');
  assert.deepEqual(a, [123, 0]);
  assert.deepEqual(b, [123, 0]);
  assert.equal(handle.count, 0);

  audience('http://meter.test/other');
  assert.equal(FakeEventSource.instances[1]!.init?.withCredentials, false);
});

test('notifications and named events reach message listeners', async () => {
  const audience = await loadAudience();
  const handle = audience('http://meter.test/ns');
  const es = FakeEventSource.instances[0]!;
  const messages: unknown[] = [];
  const counts: unknown[] = [];
  const foo: unknown[] = [];
  handle.on('message', (m) => messages.push(m)).on('count', (n) => counts.push(n));

  es.fire('message', 'chat=hello=world');
  es.fire('message', 'no-separator');
  es.fire('message', '12a');
  handle.on('foo', (d) => foo.push(d)); // a name the client didn't know
  es.fire('foo', 'bar');
  assert.deepEqual(plain(messages), [
    { event: 'chat', data: 'hello=world' },
    { event: 'message', data: 'no-separator' },
    { event: 'message', data: '12a' },
    { event: 'foo', data: 'bar' },
  ]);
  assert.deepEqual(foo, ['bar']);
  assert.deepEqual(counts, []);
  assert.equal(es.listeners.get('foo')?.length, 1, 'one source listener per name');
  handle.on('foo', () => {});
  assert.equal(es.listeners.get('foo')?.length, 1, 'one source listener per name');
});

test('expelled is delivered, then the stream is closed for good', async () => {
  const audience = await loadAudience();
  const handle = audience('http://meter.test/ns');
  const es = FakeEventSource.instances[0]!;
  const seen: unknown[] = [];
  handle.on('message', (m) => seen.push(m)); // not subscribed to 'expelled' by name
  es.fire('expelled', 'device-limit-exceeded');
  assert.deepEqual(plain(seen), [{ event: 'expelled', data: 'device-limit-exceeded' }]);
  assert.equal(es.closed, true);
});

test('errors are passed on and close() stops the stream', async () => {
  const audience = await loadAudience();
  const handle = audience('http://meter.test/ns');
  const es = FakeEventSource.instances[0]!;
  const errors: unknown[] = [];
  handle.on('error', (e) => errors.push(e));
  es.fire('error');
  assert.equal(errors.length, 1);
  handle.close();
  assert.equal(es.closed, true);
});

// --- the WebSocket transport, against a stand-in WebSocket ------------------

class FakeWebSocket {
  static instances: FakeWebSocket[] = [];
  readyState = 0;
  readonly sent: string[] = [];
  readonly listeners = new Map<string, Listener[]>();
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  closed = false;
  constructor(readonly url: string) {
    FakeWebSocket.instances.push(this);
  }
  addEventListener(type: string, fn: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.closed = true;
  }
  open(): void {
    this.readyState = 1;
    for (const fn of this.listeners.get('open') ?? []) fn({});
  }
  frame(value: unknown): void {
    this.onmessage?.({ data: JSON.stringify(value) });
  }
  drop(): void {
    this.readyState = 3;
    this.onclose?.();
  }
}

interface WsHandle {
  count: number | null;
  transport: string;
  on(type: string, fn: (arg: unknown) => void): WsHandle;
  page(path: string): boolean;
  close(): void;
}

/** audience.js in a window with WebSocket (and EventSource unless `withEventSource` is false); timers are queued, not run. */
async function loadWithWebSocket(withEventSource = true): Promise<{ audience: (url: string, o?: object) => WsHandle; timers: Array<[() => void, number]> }> {
  const source = await readFile(clientFile('audience.js'), 'utf8');
  FakeWebSocket.instances = [];
  FakeEventSource.instances = [];
  const timers: Array<[() => void, number]> = [];
  const window: Record<string, unknown> = {
    WebSocket: FakeWebSocket, URL, location: { href: 'https://site.test/cars?x=1', pathname: '/cars', search: '?x=1' },
    setTimeout: (fn: () => void, ms: number) => timers.push([fn, ms]), clearTimeout: () => {},
  };
  if (withEventSource) window.EventSource = FakeEventSource;
  window.window = window;
  vm.runInNewContext(source, window, { filename: 'audience.js' });
  return { audience: window.audience as (url: string, o?: object) => WsHandle, timers };
}

test("transport 'auto' takes EventSource when there is one, else WebSocket", async () => {
  let { audience } = await loadWithWebSocket();
  assert.equal(audience('https://meter.test/ns').transport, 'sse');
  assert.equal(FakeEventSource.instances.length, 1);
  ({ audience } = await loadWithWebSocket(false));
  assert.equal(audience('https://meter.test/ns').transport, 'ws');
  assert.equal(FakeWebSocket.instances[0]!.url, 'wss://meter.test/ns?page=%2Fcars%3Fx%3D1');
});

test('over WebSocket: counts, messages, page(), and expelled closes for good', async () => {
  const { audience, timers } = await loadWithWebSocket();
  const handle = audience('http://meter.test/ns?token=t&page=%2Fhere', { transport: 'ws' });
  const socket = FakeWebSocket.instances[0]!;
  assert.equal(socket.url, 'ws://meter.test/ns?token=t&page=%2Fhere', 'a page in the url is kept');
  const seen: unknown[] = [];
  handle.on('count', (n) => seen.push(['count', n])).on('offer', (d) => seen.push(['offer', d]))
    .on('message', (m) => seen.push(plain(m))).on('expelled', (r) => seen.push(['expelled', r]));
  assert.equal(handle.page('/early'), true);
  assert.deepEqual(socket.sent, [], 'nothing is sent before the socket opens');
  socket.open();
  assert.deepEqual(socket.sent, ['{"type":"page","page":"/early"}']);
  handle.page('/later');
  socket.frame({ type: 'count', members: 7 });
  socket.frame({ type: 'message', event: 'offer', data: '10%' });
  socket.onmessage!({ data: 'not json' });
  socket.frame({ type: 'expelled', reason: 'device-limit-exceeded' });
  assert.equal(handle.count, 7);
  assert.deepEqual(socket.sent.at(-1), '{"type":"page","page":"/later"}');
  assert.deepEqual(seen, [['count', 7], ['offer', '10%'], { event: 'offer', data: '10%' },
    ['expelled', 'device-limit-exceeded'], { event: 'expelled', data: 'device-limit-exceeded' }]);
  assert.equal(socket.closed, true);
  socket.drop();
  assert.equal(timers.length, 0, 'no reconnection after expelled');
  assert.equal(handle.page('/gone'), false);
});

test('over WebSocket: reconnects with a growing delay, reset once connected; page() is false over SSE', async () => {
  const { audience, timers } = await loadWithWebSocket();
  const handle = audience('https://meter.test/ns', { transport: 'ws' });
  handle.page('/spa');
  for (let i = 0; i < 7; i++) {
    FakeWebSocket.instances.at(-1)!.drop();
    const [reconnect, delay] = timers.shift()!;
    const base = Math.min(1000 * 2 ** i, 30_000); // doubling, capped at 30 s, plus up to half again of jitter
    assert.ok(delay >= base && delay <= base * 1.5, `delay ${delay} at attempt ${i}`);
    reconnect();
  }
  const socket = FakeWebSocket.instances.at(-1)!;
  socket.open();
  assert.deepEqual(socket.sent, ['{"type":"page","page":"/spa"}'], 'the page is reported again');
  socket.drop();
  assert.ok(timers.shift()![1] <= 1500, 'the delay starts over after a successful connection');
  handle.close();
  assert.equal(audience('https://meter.test/ns', { transport: 'sse' }).page('/x'), false);
});

// --- reopening what the browser gave up on, and fresh tokens ------------------

/** Lets the client's token promises settle. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** What a browser does when an EventSource stops for good (a non-200 answer, such as a proxy's 502). */
function giveUp(es: FakeEventSource & { readyState?: number }): void {
  es.readyState = 2;
  es.fire('error');
}

test('over SSE: a stream the browser gave up on is reopened with backoff, its named events hooked again', async () => {
  const { audience, timers } = await loadWithWebSocket();
  const handle = audience('https://meter.test/ns', { transport: 'sse' }) as unknown as Handle;
  const seen: unknown[] = [];
  handle.on('count', (n) => seen.push(n)).on('offer', (d) => seen.push(d));
  const first = FakeEventSource.instances[0]!;
  first.fire('error'); // readyState still CONNECTING: the browser retries on its own
  assert.equal(timers.length, 0, 'no second reconnection while the browser retries');
  for (let i = 0; i < 4; i++) {
    giveUp(FakeEventSource.instances.at(-1)!);
    const [reopen, delay] = timers.shift()!;
    const base = 1000 * 2 ** i; // the WebSocket path's backoff: one policy for both
    assert.ok(delay >= base && delay <= base * 1.5, `delay ${delay} at attempt ${i}`);
    reopen();
  }
  assert.equal(FakeEventSource.instances.length, 5);
  assert.ok(FakeEventSource.instances.slice(0, 4).every((es) => es.closed), 'every given-up source is closed');
  const current = FakeEventSource.instances.at(-1)!;
  assert.equal(handle.source, current);
  assert.equal(current.url, 'https://meter.test/ns', 'the same url, as given');
  current.fire('message', '12');
  current.fire('offer', '10%');
  assert.deepEqual(seen, [12, '10%']);
  current.fire('open');
  current.fire('message', '13', 'session-7'); // the first count carries the session id
  current.fire('message', '14'); // later ones don't; EventSource keeps the last one
  giveUp(current);
  const [reopen, delay] = timers.shift()!;
  assert.ok(delay <= 1500, 'the delay starts over once a stream opened');
  reopen();
  assert.equal(FakeEventSource.instances.at(-1)!.url, 'https://meter.test/ns?last-event-id=session-7',
    'the session id goes along, as Last-Event-ID would (an expelled session gets 204)');
  handle.close();
  assert.equal(timers.length, 0);
});

test('over SSE: no reopening after expelled or close()', async () => {
  const { audience, timers } = await loadWithWebSocket();
  const expelled = audience('https://meter.test/ns', { transport: 'sse' }) as unknown as Handle;
  FakeEventSource.instances[0]!.fire('expelled', 'device-limit-exceeded');
  giveUp(FakeEventSource.instances[0]!);
  const closed = audience('https://meter.test/ns', { transport: 'sse' }) as unknown as Handle;
  closed.close();
  giveUp(FakeEventSource.instances[1]!);
  assert.equal(timers.length, 0);
  assert.equal(FakeEventSource.instances.length, 2);
  assert.equal(expelled.count, null);
});

for (const transport of ['sse', 'ws'] as const) {
  test(`over ${transport}: token() is asked before every connection and reconnection`, async () => {
    const { audience, timers } = await loadWithWebSocket();
    let issued = 0;
    const handle = audience('https://meter.test/ns?page=%2Fp', { transport, token: () => Promise.resolve(`t${++issued}`) });
    const sockets = (): Array<{ url: string; closed: boolean }> => (transport === 'ws' ? FakeWebSocket.instances : FakeEventSource.instances);
    assert.equal(sockets().length, 0, 'nothing opens before the token has come');
    await settle();
    assert.equal(sockets()[0]!.url, `${transport === 'ws' ? 'wss' : 'https'}://meter.test/ns?page=%2Fp&token=t1`);
    for (let i = 2; i <= 4; i++) {
      // A stream ended by the daemon: over SSE the browser would re-send the old token, so the client takes over.
      if (transport === 'ws') FakeWebSocket.instances.at(-1)!.drop();
      else FakeEventSource.instances.at(-1)!.fire('error');
      assert.equal(sockets().at(-1)!.closed, transport === 'sse', 'the old EventSource is closed');
      timers.shift()![0]();
      await settle();
      assert.match(sockets().at(-1)!.url, new RegExp(`token=t${i}$`));
    }
    assert.equal(issued, 4);
    handle.close();
  });
}

test('a failed token() is an error, and is asked again after the backoff', async () => {
  const { audience, timers } = await loadWithWebSocket();
  let calls = 0;
  const errors: unknown[] = [];
  const handle = audience('https://meter.test/ns', {
    transport: 'sse',
    token: () => { if (++calls === 1) throw new Error('site down'); return 'late'; },
  });
  handle.on('error', (e) => errors.push(e));
  await settle();
  assert.equal(errors.length, 1);
  assert.equal(FakeEventSource.instances.length, 0);
  timers.shift()![0]();
  await settle();
  assert.equal(FakeEventSource.instances[0]!.url, 'https://meter.test/ns?token=late');
  handle.close();
});
