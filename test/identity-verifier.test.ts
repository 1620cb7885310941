// The token verifier on its own: the verdicts (and the one-line reasons) for good, forged, expired, early,
// wrongly typed and otherwise malformed tokens, and that a verdict is known at once (no promise).
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { IdentityVerifier, REFUSALS } from '../src/attendance/identity.js';
import { AUTH_SECRET, signToken } from './helpers/tokens.js';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A token signed by hand, for headers and claims a well-behaved signer refuses to write. */
function handSigned(header: Record<string, unknown>, payload: unknown, secret = AUTH_SECRET): string {
  const signed = `${b64(header)}.${b64(payload)}`;
  return `${signed}.${createHmac('sha256', secret).update(signed).digest('base64url')}`;
}
const now = () => Math.floor(Date.now() / 1000);

test('a good token names its user at once; no token is anonymous unless one is required', async () => {
  const verifier = new IdentityVerifier(AUTH_SECRET, false);
  const verdict = verifier.verify(await signToken({ sub: 'alice', name: 'Alice' }), 'ns');
  assert.ok(!(verdict instanceof Promise));
  assert.deepEqual(verdict, { ok: true, identity: { user: 'alice', name: 'Alice' } });
  assert.deepEqual(verifier.verify(undefined, 'ns'), { ok: true, identity: null });
  assert.deepEqual(new IdentityVerifier(AUTH_SECRET, true).verify('', 'ns'), { ok: false, reason: REFUSALS.required });
  assert.deepEqual(new IdentityVerifier(undefined, false).verify(await signToken(), 'ns'), { ok: false, reason: REFUSALS.noSecret });
});

test('forged, expired, early and malformed tokens get their reasons', async () => {
  const verifier = new IdentityVerifier(AUTH_SECRET, false);
  const refused = (token: string) => {
    const verdict = verifier.verify(token, 'ns');
    return verdict.ok ? 'admitted' : verdict.reason;
  };
  assert.equal(refused(await signToken({ secret: 'another-secret' })), REFUSALS.signature);
  assert.equal(refused(await signToken({ expiresIn: -60 })), REFUSALS.expired);
  assert.equal(refused(await signToken({ expiresIn: -2 })), 'admitted', 'within the 5 s clock tolerance');
  assert.equal(refused(handSigned({ alg: 'HS256' }, { sub: 'u', nbf: now() + 3600 })), REFUSALS.notYet);
  assert.equal(refused(handSigned({ alg: 'HS256' }, { sub: 'u', exp: 'soon' })), REFUSALS.notYet);
  assert.equal(refused(handSigned({ alg: 'HS256' }, { exp: now() + 60 })), REFUSALS.subject);
  assert.equal(refused(handSigned({ alg: 'HS256' }, { sub: 'u', name: 42 })), REFUSALS.claims);
  assert.equal(refused(handSigned({ alg: 'HS256' }, { sub: 'u', ns: ['other'] })), REFUSALS.namespace);
  for (const token of [
    `${b64({ alg: 'none' })}.${b64({ sub: 'u' })}.`,
    handSigned({ alg: 'HS512' }, { sub: 'u' }),
    handSigned({ alg: 'HS256', crit: ['x'], x: 1 }, { sub: 'u' }),
    handSigned({ alg: 'HS256' }, [1, 2]),
    'not.a.jwt',
    'x'.repeat(5000),
  ]) {
    assert.equal(refused(token), REFUSALS.malformed, token.slice(0, 60));
  }
});
