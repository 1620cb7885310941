// Who a viewer is: only a token signed with --auth-secret names a user (DESIGN principle 5). The event
// site signs a short JWT (HS256) per logged-in viewer; `sub` is the user id, `exp` is honoured, an optional
// `ns` claim (one name or a list) limits the namespaces it opens, an optional `name` is recorded.
// Verification uses `fast-jwt` (Apache-2.0), never a hand-written parser: it checks an HMAC with node:crypto
// synchronously, where WebCrypto (jose 6) hands every token to the thread pool and back through a promise,
// which cost an identified viewer 3-4 times the CPU of the HMAC itself in a flash crowd (BENCHMARKS.md).
import { TokenError, createVerifier } from 'fast-jwt';

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

export class IdentityVerifier {
  /** Built once with the key: fast-jwt prepares the HMAC key and the checks a single time. */
  private readonly verifyToken: ((token: string) => Record<string, unknown>) | undefined;

  constructor(secret: string | undefined, private readonly requireAuth: boolean) {
    this.verifyToken = secret === undefined
      ? undefined
      : createVerifier({ key: secret, algorithms: ['HS256'], clockTolerance: CLOCK_TOLERANCE_SECONDS * 1000, cache: false });
  }

  /** The verdict on a stream request's token (or its absence), known at once: verification is synchronous. */
  verify(token: string | undefined, ns: string): IdentityVerdict {
    if (token === undefined || token === '') return this.requireAuth ? refuse('required') : ANONYMOUS;
    if (this.verifyToken === undefined) return refuse('noSecret');
    let payload: Record<string, unknown>;
    try {
      payload = this.verifyToken(token);
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
