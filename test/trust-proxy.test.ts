// --trust-proxy on the real daemon: X-Forwarded-For believed only from the proxies named, read from the
// right (the client is the right-most address that is not one of them), ignored from anyone else; the bare
// 3.0 form means loopback and says so; a bad list is exit status 2. The address is read back from what the
// daemon stored (the attendance log, --ip-storage full).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { STORES, type StoreUnderTest } from './helpers/attendance-stores.js';
import { BIN, startDaemon, waitFor, type Daemon } from './helpers/daemon.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';

const sqlite = STORES.find((kind) => kind.name === 'sqlite')!;

describe('the client address behind trusted proxies', () => {
  let store: StoreUnderTest;
  const viewers: SseClient[] = [];
  before(async () => { store = await sqlite.create(); });
  after(async () => {
    for (const viewer of viewers) viewer.close();
    await store?.cleanup();
  });

  /** Opens a stream from `from` with that X-Forwarded-For, and resolves with the address stored for it. */
  async function storedAddress(daemon: Daemon, from: string, forwardedFor: string | undefined): Promise<unknown> {
    const headers: Record<string, string> = forwardedFor === undefined ? {} : { 'X-Forwarded-For': forwardedFor };
    const viewer = await openViewer(daemon.port, '/proxied', { headers, localAddress: from });
    viewers.push(viewer);
    const session = viewer.events[0]!.id!;
    let row: Record<string, unknown> | undefined;
    // Until the daemon has created its tables, reading them fails: that is "not stored yet".
    await waitFor(async () => (row = (await store.rows('SELECT ip FROM audience_meter_sessions WHERE session = ?', [session]).catch(() => []))[0]) !== undefined, 8000, 'the session to be stored');
    return row!.ip;
  }

  test('named proxies: the right-most untrusted address; from anyone else the header is ignored', async () => {
    const daemon = await startDaemon(['--trust-proxy', '127.0.0.3, 127.0.0.4', '--attendance', store.target, '--ip-storage', 'full'], { workers: 1 });
    try {
      assert.doesNotMatch(daemon.stderr(), /--trust-proxy without a value/);
      // Straight to the daemon, spoofed: the peer is not a trusted proxy.
      assert.equal(await storedAddress(daemon, '127.0.0.2', '203.0.113.7'), '127.0.0.2');
      // Through a trusted hop that appended what it saw ($proxy_add_x_forwarded_for) to the client's own lie.
      assert.equal(await storedAddress(daemon, '127.0.0.3', '203.0.113.7, 198.51.100.4'), '198.51.100.4');
      // Two trusted hops in a row.
      assert.equal(await storedAddress(daemon, '127.0.0.3', '203.0.113.7, 198.51.100.5, 127.0.0.4'), '198.51.100.5');
      // A trusted hop without the header, or with garbage in it.
      assert.equal(await storedAddress(daemon, '127.0.0.3', undefined), '127.0.0.3');
      assert.equal(await storedAddress(daemon, '127.0.0.3', 'alice'), '127.0.0.3');
    } finally {
      await daemon.stop();
    }
  });

  test('without --trust-proxy the header is ignored even from loopback', async () => {
    const daemon = await startDaemon(['--attendance', store.target, '--ip-storage', 'full'], { workers: 1 });
    try {
      assert.equal(await storedAddress(daemon, '127.0.0.5', '198.51.100.6'), '127.0.0.5');
    } finally {
      await daemon.stop();
    }
  });

  test('a bare --trust-proxy (3.0) means loopback and logs the explicit form', async () => {
    const daemon = await startDaemon(['--attendance', store.target, '--ip-storage', 'full', '--trust-proxy'], { workers: 1 });
    try {
      const lines = daemon.stderr().split('\n').filter((line) => line.includes('--trust-proxy'));
      assert.equal(lines.length, 1, daemon.stderr());
      assert.match(lines[0]!, /--trust-proxy without a value means --trust-proxy loopback/);
      assert.equal(await storedAddress(daemon, '127.0.0.6', '203.0.113.7, 198.51.100.7'), '198.51.100.7');
    } finally {
      await daemon.stop();
    }
  });
});

for (const [value, reason] of [['10.0.0.0/33', /invalid range on address/i], [',', /comma-separated/], ['not-an-address', /invalid IP address/i]] as const) {
  test(`--trust-proxy ${value} → exit 2 and one line`, () => {
    const result = spawnSync(process.execPath, [BIN, '--trust-proxy', value], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(result.status, 2);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, /^audience-meter: option '--trust-proxy \[proxies\]' argument .* is invalid\./);
    assert.match(lines[0]!, reason);
  });
}

for (const [args, message] of [
  [['--admin-hosts', 'admin.example.org:8443'], /--admin-hosts <names>.*host names without ports/],
  [['--auth-secret-grace', 'soon'], /--auth-secret-grace <seconds>.*must be a number/],
] as const) {
  test(`bad option ${args.join(' ')} → exit 2 and one line`, () => {
    const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(result.status, 2);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, message);
  });
}
