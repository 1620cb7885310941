// Who a viewer is: only a token signed with --auth-secret names a user (DESIGN principle 5). The event
// site signs a short JWT (HS256) per logged-in viewer; `sub` is the user id, `exp` is honoured, an optional
// `ns` claim (one name or a list) limits the namespaces it opens, an optional `name` is recorded.
// Verification uses `fast-jwt` (Apache-2.0), never a hand-written parser: it checks an HMAC with node:crypto
// synchronously, where WebCrypto (jose 6) hands every token to the thread pool and back through a promise,
// which cost an identified viewer 3-4 times the CPU of the HMAC itself in a flash crowd (BENCHMARKS.md).
import { TokenError, createVerifier } from 'fast-jwt';
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

type TokenCheck = (token: string) => Record<string, unknown>;

function tokenCheck(secret: string): TokenCheck {
  return createVerifier({ key: secret, algorithms: ['HS256'], clockTolerance: CLOCK_TOLERANCE_SECONDS * 1000, cache: false });
}

export class IdentityVerifier {
  /** Built once per secret: fast-jwt prepares the HMAC key and the checks a single time. */
  private checkCurrent: TokenCheck | undefined;
  /** The secret a SIGHUP replaced, still accepted until `previousUntil` (--auth-secret-grace). */
  private checkPrevious: TokenCheck | undefined;
  private previousUntil = 0;

  constructor(secret: string | undefined, private readonly requireAuth: boolean) {
    this.checkCurrent = secret === undefined ? undefined : tokenCheck(secret);
  }

  /** Replaces the secrets; a token signed with the previous one is refused once `previousUntil` is past. */
  setSecrets(secrets: AuthSecrets): void {
    this.checkCurrent = tokenCheck(secrets.current);
    this.checkPrevious = secrets.previous === null ? undefined : tokenCheck(secrets.previous);
    this.previousUntil = secrets.previousUntil;
  }

  /** The verdict on a stream request's token (or its absence), known at once: verification is synchronous. */
  verify(token: string | undefined, ns: string): IdentityVerdict {
    if (token === undefined || token === '') return this.requireAuth ? refuse('required') : ANONYMOUS;
    if (this.checkCurrent === undefined) return refuse('noSecret');
    const verdict = this.verifyWith(this.checkCurrent, token, ns);
    // Only a signature that does not match the current secret is worth a second try with the previous one.
    if (verdict.ok || verdict.reason !== REFUSALS.signature) return verdict;
    if (this.checkPrevious === undefined || Date.now() >= this.previousUntil) return verdict;
    return this.verifyWith(this.checkPrevious, token, ns);
  }

  private verifyWith(verifyToken: TokenCheck, token: string, ns: string): IdentityVerdict {
    let payload: Record<string, unknown>;
    try {
      payload = verifyToken(token);
    } catch (error) {
      return refuse(reasonFor((error as { code?: unknown }).code));
    }
    if (typeof payload !== 'object' || payload === null) return refuse('malformed');
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

/** fast-jwt's stable error codes to the reasons a refused viewer reads. */
function reasonFor(code: unknown): keyof typeof REFUSALS {
  switch (code) {
    case TokenError.codes.expired:
      return 'expired';
    case TokenError.codes.invalidSignature:
      return 'signature';
    case TokenError.codes.inactive:
    case TokenError.codes.invalidClaimType:
    case TokenError.codes.invalidClaimValue:
      return 'notYet';
    default:
      return 'malformed';
  }
}
