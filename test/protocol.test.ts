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
