import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authSecretsFromEnv, parsePrimaryMessage, parseWorkerMessage } from '../src/protocol/ipc.js';
import { decodeName } from '../src/protocol/namespace.js';
import { messageFrame } from '../src/protocol/sse.js';

test('well-formed IPC messages pass, malformed ones are rejected', () => {
  assert.ok(parseWorkerMessage({ type: 'report', entries: [['ev', 2, 1]], exclusions: [], entered: [], exited: [] }));
  for (const bad of [null, 3, 'x', {}, { type: 'report' }, { type: 'report', entries: [['ev', -1, 0]], exclusions: [] },
    { type: 'report', entries: [['ev', 1.5, 0]], exclusions: [] }, { type: 'report', entries: [['', 1, 0]], exclusions: [] },
    { type: 'report', entries: [['ev', 1]], exclusions: [] }, { type: 'report', entries: [], exclusions: [{ uuid: 'u' }] },
    { type: 'nope' }]) {
    assert.equal(parseWorkerMessage(bad), undefined, JSON.stringify(bad));
  }
  assert.ok(parsePrimaryMessage({ type: 'push', entries: [['ev', 3]] }));
  assert.ok(parsePrimaryMessage({ type: 'shutdown' }));
  assert.equal(parsePrimaryMessage({ type: 'notify', ns: 'ev' }), undefined);
  assert.equal(parsePrimaryMessage({ type: 'push', entries: [['ev', '3']] }), undefined);
  assert.ok(parsePrimaryMessage({ type: 'auth-secrets', secrets: { current: 'new-secret-0123456789', previous: 'old-secret-0123456789', previousUntil: 1 } }));
  assert.ok(parsePrimaryMessage({ type: 'auth-secrets', secrets: { current: 'new-secret-0123456789', previous: null, previousUntil: 0 } }));
  for (const secrets of [undefined, {}, { current: '', previous: null, previousUntil: 0 }, { current: 'x', previous: 3, previousUntil: 0 },
    { current: 'x', previous: null, previousUntil: -1 }, { current: 'x'.repeat(70_000), previous: null, previousUntil: 0 }]) {
    assert.equal(parsePrimaryMessage({ type: 'auth-secrets', secrets }), undefined, JSON.stringify(secrets)?.slice(0, 80));
  }
  assert.deepEqual(authSecretsFromEnv('{"current":"s-0123456789abcdef","previous":null,"previousUntil":0}'), { current: 's-0123456789abcdef', previous: null, previousUntil: 0 });
  for (const text of [undefined, '', '{', 'null', '{"current":1}']) assert.equal(authSecretsFromEnv(text), undefined, text);
});

test('the listing and feed messages: well-formed pass, malformed and oversized ones are rejected', () => {
  const entry = { session: 's', connection: 'n-1-a-0', ns: 'ev', user: null, name: null, at: 1, page: null, browser: null, os: null, device: null, ip: null, transport: 'sse' };
  const report = { type: 'report', entries: [], exclusions: [], entered: [], exited: [] };
  assert.ok(parseWorkerMessage({ ...report, feed: [['join', entry, 1], ['page', entry, 2]], addresses: [['192.0.2.1', 0]] }));
  assert.ok(parseWorkerMessage({ type: 'listed', id: 1, connections: [entry], matched: 7 }));
  for (const bad of [{ ...report, feed: [['gone', entry, 1]] }, { ...report, feed: [['join', { ...entry, ns: '' }, 1]] },
    { ...report, addresses: [['192.0.2.1', -1]] }, { type: 'listed', id: 1, connections: [entry] },
    { type: 'listed', id: 1, connections: Array.from({ length: 1001 }, () => entry), matched: 1001 }]) {
    assert.equal(parseWorkerMessage(bad), undefined, JSON.stringify(bad).slice(0, 80));
  }
  assert.ok(parsePrimaryMessage({ type: 'list', id: 1, ns: null, user: 'ann', from: 0, limit: 1000 }));
  assert.ok(parsePrimaryMessage({ type: 'feed', on: false }));
  for (const bad of [{ type: 'list', id: 1, ns: null, user: null, from: 0, limit: 1001 }, { type: 'list', id: 1, ns: '', user: null, from: 0, limit: 1 },
    { type: 'list', id: 1, user: null, from: 0, limit: 1 }, { type: 'feed', on: 1 }]) {
    assert.equal(parsePrimaryMessage(bad), undefined, JSON.stringify(bad));
  }
});

test('namespace names: percent-decoded, 1..200 bytes, no control characters', () => {
  assert.deepEqual(decodeName('caf%C3%A9'), { ok: true, name: 'café' });
  assert.deepEqual(decodeName('x'.repeat(200)), { ok: true, name: 'x'.repeat(200) });
  assert.equal(decodeName('').ok, false);
  assert.equal(decodeName('x'.repeat(201)).ok, false);
  assert.equal(decodeName('é'.repeat(101)).ok, false, '202 bytes');
  assert.equal(decodeName('a%0Ab').ok, false);
  assert.equal(decodeName('%E0%A4%A').ok, false);
});

test('a message with line breaks cannot forge another SSE event', () => {
  assert.equal(messageFrame('a\n\ndata: 999').toString(), 'data: a\ndata: \ndata: data: 999\n\n');
  assert.equal(messageFrame('x', 'expelled').toString(), 'event: expelled\ndata: x\n\n');
});
