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

type Listener = (e: { data?: string }) => void;

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
  fire(type: string, data?: string): void {
    if (this.closed) return;
    for (const fn of this.listeners.get(type) ?? []) fn({ data });
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
