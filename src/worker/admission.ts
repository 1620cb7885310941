// Whether a stream request may open, decided the same way for both transports (the raw fast path and
// node:http): an expelled browser reconnecting gets 204, a bad or missing token 401, anyone else a session.
// Without a token the answer is immediate; with one it is a promise (token verification is async).
import { clientIp } from '../attendance/client-ip.js';
import type { IdentityVerdict, IdentityVerifier } from '../attendance/identity.js';
import type { Limits } from './limits.js';
import type { Sessions, Visit } from './sessions.js';

/** The parts of a stream request that admission reads, whichever parser read them. */
export interface StreamRequest {
  ns: string;
  target: string;
  lastEventId: string | undefined;
  userAgent: string | undefined;
  referer: string | undefined;
  forwardedFor: string | undefined;
  remoteAddress: string | undefined;
}

export type Admission = { admit: true; visit: Visit } | { admit: false; status: 204 | 401 | 503; reason: string };

export const EXPELLED_REASON = 'this session was expelled (device limit)';

export class Gate {
  constructor(
    private readonly verifier: IdentityVerifier,
    private readonly sessions: Sessions,
    private readonly trustProxy: boolean,
    private readonly limits: Limits,
  ) {}

  admit(request: StreamRequest): Admission | Promise<Admission> {
    if (this.sessions.wasExpelled(request.lastEventId, Date.now())) return { admit: false, status: 204, reason: EXPELLED_REASON };
    const ip = clientIp(request.remoteAddress, request.forwardedFor, this.trustProxy);
    // Before the token: a limit costs a lookup, a verification much more.
    const refused = this.limits.refusal(request.ns, ip);
    if (refused !== undefined) return { admit: false, status: 503, reason: refused };
    const query = queryOf(request.target);
    // Only a verified token names a user: no other query parameter is read for identity.
    const verdict = this.verifier.verify(query?.get('token') ?? undefined, request.ns);
    const page = query?.get('page') || request.referer || undefined;
    if (verdict instanceof Promise) return verdict.then((v) => decide(v, request, page, ip));
    return decide(verdict, request, page, ip);
  }
}

function decide(verdict: IdentityVerdict, request: StreamRequest, page: string | undefined, ip: string | null): Admission {
  if (!verdict.ok) return { admit: false, status: 401, reason: verdict.reason };
  return { admit: true, visit: { identity: verdict.identity, page, userAgent: request.userAgent, ip } };
}

function queryOf(target: string): URLSearchParams | undefined {
  const at = target.indexOf('?');
  return at === -1 ? undefined : new URLSearchParams(target.slice(at + 1));
}
