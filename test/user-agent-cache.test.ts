// The User-Agent cache of the accept path: each distinct header parsed once, bounded whatever arrives, the
// strings in use kept through a flood of one-off ones, and the same facts as an uncached parse.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DeviceFacts, DeviceFactsCache, UNKNOWN_DEVICE, USER_AGENT_READ_LENGTH, deviceFacts, parseDeviceFacts } from '../src/attendance/user-agent.js';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';

/** A cache whose parser counts its calls per User-Agent. */
function countingCache(generation: number): { cache: DeviceFactsCache; parsed: Map<string, number> } {
  const parsed = new Map<string, number>();
  const cache = new DeviceFactsCache(generation, (ua): DeviceFacts => {
    parsed.set(ua, (parsed.get(ua) ?? 0) + 1);
    return parseDeviceFacts(ua);
  });
  return { cache, parsed };
}

test('each distinct User-Agent is parsed once, and a hit gives the same facts object', () => {
  const { cache, parsed } = countingCache(100);
  const first = cache.facts(CHROME);
  for (let i = 0; i < 1000; i++) assert.equal(cache.facts(i % 2 === 0 ? CHROME : IPHONE), i % 2 === 0 ? first : cache.facts(IPHONE));
  assert.deepEqual([...parsed.values()], [1, 1]);
  assert.deepEqual(first, { browser: 'Chrome 120', os: 'Windows 10', device: 'desktop' });
  assert.ok(Object.isFrozen(first), 'shared between sessions, so never mutable');
});

test('cached facts equal an uncached parse, for the shared cache as for a fresh one', () => {
  for (const ua of [CHROME, IPHONE, 'curl/8.5.0', 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36']) {
    assert.deepEqual(deviceFacts(ua), parseDeviceFacts(ua));
    assert.deepEqual(new DeviceFactsCache().facts(ua), parseDeviceFacts(ua));
  }
});

test('no header, or an empty one, is unknown and takes no entry', () => {
  const { cache, parsed } = countingCache(10);
  assert.equal(cache.facts(undefined), UNKNOWN_DEVICE);
  assert.equal(cache.facts(''), UNKNOWN_DEVICE);
  assert.equal(cache.size, 0);
  assert.equal(parsed.size, 0);
});

test('a flood of distinct User-Agents never holds more than two generations', () => {
  const { cache } = countingCache(50);
  for (let i = 0; i < 10_000; i++) {
    cache.facts(`bot-${i}/1.0`);
    assert.ok(cache.size <= 100, `size ${cache.size} after ${i + 1} distinct strings`);
  }
});

test('the strings in use survive a flood of one-off ones', () => {
  const { cache, parsed } = countingCache(50);
  cache.facts(CHROME);
  // The common browser keeps arriving between the one-offs, as real viewers do during a scan.
  for (let i = 0; i < 5_000; i++) {
    cache.facts(`scanner-${i}`);
    if (i % 20 === 0) cache.facts(CHROME);
  }
  assert.equal(parsed.get(CHROME), 1, 'promoted from the old generation each time, never parsed again');
  // One that stopped arriving is dropped after two generations and parsed again when it returns.
  cache.facts(IPHONE);
  for (let i = 0; i < 200; i++) cache.facts(`later-${i}`);
  cache.facts(IPHONE);
  assert.equal(parsed.get(IPHONE), 2);
});

test('headers longer than what ua-parser-js reads share one entry and its facts', () => {
  const { cache, parsed } = countingCache(10);
  const long = CHROME + ' x'.repeat(USER_AGENT_READ_LENGTH);
  const a = cache.facts(`${long}A`);
  const b = cache.facts(`${long}B`);
  assert.equal(a, b);
  assert.equal(parsed.size, 1);
  assert.equal([...parsed.keys()][0]!.length, USER_AGENT_READ_LENGTH);
  assert.deepEqual(a, parseDeviceFacts(`${long}A`), 'the parser itself stops at the same length');
});
