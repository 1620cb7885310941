// Who a viewer is: only a token signed with --auth-secret names a user (DESIGN principle 5). The event
// site signs a short JWT (HS256) per logged-in viewer; `sub` is the user id, `exp` is honoured, an optional
// `ns` claim (one name or a list) limits the namespaces it opens, an optional `name` is recorded.
// Verification uses `jose`, never a hand-written parser.
import { jwtVerify } from 'jose';
import type { AuthSecrets } from '../protocol/ipc.js';

export interface Identity {
  user: string;
  name: string | null;
}

/** A verdict on a stream request's credentials: who it is (null: anonymous), or why it is refused (401). */
export type IdentityVerdict = { ok: true; identity: Identity | null } | { ok: false; reason: string };

/** Longest accepted user id and name: they are stored with every session. */
const MAX_CLAIM_LENGTH = 256;
/** Clocks of the signing site and this server may differ a little. */
const CLOCK_TOLERANCE_SECONDS = 5;

/** The one-line reasons a refused viewer reads. A fixed set, so the raw fast path can pre-encode answers. */
export const REFUSALS = {
  required: 'a token is required (?token=)',
  noSecret: 'this server accepts no tokens (no --auth-secret)',
  expired: 'token expired',
  signature: 'token signature is invalid',
  malformed: 'token is malformed or not HS256',
  notYet: 'token is not valid yet (nbf) or has bad time claims',
  subject: 'token has no valid sub (user id)',
  claims: 'token has an invalid ns or name claim',
  namespace: 'token is not valid for this namespace',
} as const;

const ANONYMOUS: IdentityVerdict = { ok: true, identity: null };

type HmacKey = Promise<CryptoKey>;

function importKey(secret: string): HmacKey {
  return crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
}

export class IdentityVerifier {
  /**
   * Imported once: given the secret's bytes, jose imports them into a WebCrypto key for every token, which
   * doubled the cost of each verification in a flash crowd of identified viewers (BENCHMARKS.md).
   */
  private key: HmacKey | undefined;
  private previousKey: HmacKey | undefined;
  private previousUntil = 0;

  constructor(secret: string | undefined, private readonly requireAuth: boolean) {
    this.key = secret === undefined ? undefined : importKey(secret);
  }

  /** Replaces the keys; a token signed with the previous secret is refused once `previousUntil` is past. */
  setSecrets(secrets: AuthSecrets): void {
    this.key = importKey(secrets.current);
    this.previousKey = secrets.previous === null ? undefined : importKey(secrets.previous);
    this.previousUntil = secrets.previousUntil;
  }

  /**
   * The verdict without a token is known at once (no promise, so anonymous viewers stay on the synchronous
   * path); with a token it takes a promise.
   */
  verify(token: string | undefined, ns: string): IdentityVerdict | Promise<IdentityVerdict> {
    if (token === undefined || token === '') return this.requireAuth ? refuse('required') : ANONYMOUS;
    if (this.key === undefined) return refuse('noSecret');
    const checked = this.verifyToken(token, this.key, ns);
    const previous = this.previousKey !== undefined && Date.now() < this.previousUntil ? this.previousKey : undefined;
    if (previous === undefined) return checked;
    // Only a signature that does not match the current secret is worth a second try with the previous one.
    return checked.then((verdict) => (!verdict.ok && verdict.reason === REFUSALS.signature ? this.verifyToken(token, previous, ns) : verdict));
  }

  private async verifyToken(token: string, key: HmacKey, ns: string): Promise<IdentityVerdict> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, await key, { algorithms: ['HS256'], clockTolerance: CLOCK_TOLERANCE_SECONDS }));
    } catch (error) {
      return refuse(reasonFor((error as { code?: unknown }).code));
    }
    const { sub, name, ns: allowed } = payload;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_CLAIM_LENGTH) return refuse('subject');
    if (name !== undefined && (typeof name !== 'string' || name.length > MAX_CLAIM_LENGTH)) return refuse('claims');
    if (allowed !== undefined) {
      const list = typeof allowed === 'string' ? [allowed] : allowed;
      if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) return refuse('claims');
      if (!list.includes(ns)) return refuse('namespace');
    }
    return { ok: true, identity: { user: sub, name: typeof name === 'string' && name !== '' ? name : null } };
  }
}

function refuse(why: keyof typeof REFUSALS): IdentityVerdict {
  return { ok: false, reason: REFUSALS[why] };
}

function reasonFor(code: unknown): keyof typeof REFUSALS {
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'signature';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return 'notYet';
    default:
      return 'malformed';
  }
}
