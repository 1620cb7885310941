// Facts recorded with a session: device from the User-Agent, client address, ids, and the bounded memory of
// expelled sessions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientIp, compileProxyTrust } from '../src/attendance/client-ip.js';
import { deviceFacts } from '../src/attendance/user-agent.js';
import { ExpelledSessions } from '../src/worker/expelled-sessions.js';
import { ConnectionIds, newSessionId, SESSION_ID_PATTERN } from '../src/worker/session-ids.js';

test('browser, OS and device type from common User-Agents', () => {
  assert.deepEqual(deviceFacts('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1'),
    { browser: 'Mobile Safari 17', os: 'iOS 17.0', device: 'mobile' });
  assert.deepEqual(deviceFacts('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'),
    { browser: 'Chrome 120', os: 'Windows 10', device: 'desktop' });
  assert.deepEqual(deviceFacts(undefined), { browser: null, os: null, device: null });
  assert.deepEqual(deviceFacts('curl/8.5.0'), { browser: null, os: null, device: null });
  assert.doesNotThrow(() => deviceFacts('\u0000'.repeat(5000)));
});

test('the client address: the socket, or the right-most X-Forwarded-For entry that is not a trusted proxy', () => {
  const none = compileProxyTrust([]);
  const tenNet = compileProxyTrust(['10.0.0.0/8']);
  const loopback = compileProxyTrust(['loopback']);
  assert.equal(clientIp('::ffff:192.0.2.7', '203.0.113.9', none), '192.0.2.7', 'no trusted proxy: the header is ignored');
  assert.equal(clientIp('192.0.2.7', '203.0.113.9', tenNet), '192.0.2.7', 'from an untrusted peer: ignored');
  assert.equal(clientIp('10.0.0.1', '203.0.113.9', tenNet), '203.0.113.9');
  // A client's own header, then what the proxy appended ($proxy_add_x_forwarded_for): the appended one wins.
  assert.equal(clientIp('10.0.0.1', '203.0.113.7, 198.51.100.4', tenNet), '198.51.100.4');
  assert.equal(clientIp('10.0.0.1', '203.0.113.7, 198.51.100.4, 10.9.9.9', tenNet), '198.51.100.4', 'two trusted hops');
  assert.equal(clientIp('::ffff:127.0.0.1', ' 2001:db8::1 ', loopback), '2001:db8::1');
  assert.equal(clientIp('10.0.0.1', 'alice', tenNet), '10.0.0.1', 'a malformed entry: the last well-formed hop');
  assert.equal(clientIp('10.0.0.1', undefined, tenNet), '10.0.0.1');
  assert.equal(clientIp(undefined, undefined, none), null);
});

test('session ids start with their millisecond clock, then 80 random bits; connection ids name node and worker', () => {
  const start = Date.now();
  const made = Array.from({ length: 5000 }, (_, i) => newSessionId(start + Math.floor(i / 7)));
  assert.equal(new Set(made).size, 5000, 'distinct, seven per millisecond');
  const bytes = made.map((id) => {
    assert.match(id, SESSION_ID_PATTERN);
    const decoded = Buffer.from(id, 'base64url');
    assert.equal(decoded.length, 16);
    assert.equal(decoded.toString('base64url'), id, 'canonical base64url, so it survives the datagrams\' 16 bytes');
    return decoded;
  });
  bytes.forEach((b, i) => assert.equal(b.readUIntBE(0, 6), start + Math.floor(i / 7), `id ${i}: the clock, big-endian`));
  // Made in order: ordered in their first 6 bytes; ids of one millisecond share their first 8 characters.
  for (let i = 1; i < bytes.length; i++) assert.ok(Buffer.compare(bytes[i - 1]!.subarray(0, 6), bytes[i]!.subarray(0, 6)) <= 0);
  assert.equal(made[0]!.slice(0, 8), made[6]!.slice(0, 8));
  assert.notEqual(made[6]!.slice(0, 8), made[7]!.slice(0, 8));
  // The rest is random: 10 bytes that repeat nowhere, with every byte value about as often as the others.
  const tails = bytes.map((b) => b.subarray(6).toString('hex'));
  assert.equal(new Set(tails).size, 5000);
  const counts = new Array<number>(256).fill(0);
  for (const b of bytes) for (const byte of b.subarray(6)) counts[byte]!++;
  assert.ok(Math.min(...counts) > 100 && Math.max(...counts) < 300, `random bytes spread over 0..255: ${Math.min(...counts)}..${Math.max(...counts)}`);
  assert.equal(Buffer.from(newSessionId(), 'base64url').readUIntBE(0, 6) >= start, true, 'the daemon\'s clock by default');
  const connections = new ConnectionIds('abc123', 7, 0);
  assert.equal(connections.next(), 'abc123-7-0-0');
  assert.equal(connections.next(), 'abc123-7-0-1');
});

test('expelled sessions are remembered for a while and in bounded number', () => {
  const expelled = new ExpelledSessions(1000, 3);
  for (const [id, at] of [['a', 0], ['b', 10], ['c', 20], ['d', 30]] as const) expelled.add(id, at);
  assert.equal(expelled.size, 3);
  assert.equal(expelled.has('a', 30), false);
  assert.equal(expelled.has('b', 30), true);
  assert.equal(expelled.has('b', 1010), false);
  expelled.add('e', 1025);
  assert.equal(expelled.size, 2);
});
