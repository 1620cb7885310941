// Whether a stream request may open, decided the same way for both transports (the raw fast path and
// node:http): an expelled browser reconnecting gets 204, a bad or missing token 401, anyone else a session.
// The answer is immediate, with a token too (its HMAC is checked synchronously).
import { clientIp, type ProxyTrust } from '../attendance/client-ip.js';
import type { IdentityVerifier } from '../attendance/identity.js';
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
  /** The connection's socket: its peer address is read (a system call) only when sessions record it. */
  peer: { readonly remoteAddress?: string | undefined };
}

export type Admission = { admit: true; visit: Visit } | { admit: false; status: 204 | 401 | 503; reason: string };

export const EXPELLED_REASON = 'this session was expelled (device limit)';

export class Gate {
  /** Whether the client address is resolved (a system call): for the log and the admin listing, or --max-conns-per-ip. */
  private readonly resolveAddress: boolean;

  constructor(
    private readonly verifier: IdentityVerifier,
    private readonly sessions: Sessions,
    private readonly trustProxy: ProxyTrust,
    private readonly limits: Limits,
    limitsAddresses: boolean,
  ) {
    this.resolveAddress = sessions.recordFacts || limitsAddresses;
  }

  admit(request: StreamRequest): Admission {
    const query = queryOf(request.target);
    // ?last-event-id= is how audience.js carries it when it reopens a stream itself (a new EventSource sends none).
    const lastEventId = request.lastEventId ?? query?.get('last-event-id') ?? undefined;
    if (this.sessions.wasExpelled(lastEventId, Date.now())) return { admit: false, status: 204, reason: EXPELLED_REASON };
    const ip = this.resolveAddress ? clientIp(request.peer.remoteAddress, request.forwardedFor, this.trustProxy) : null;
    // Before the token: a limit costs a lookup, a verification much more.
    const refused = this.limits.refusal(request.ns, ip);
    if (refused !== undefined) return { admit: false, status: 503, reason: refused };
    // Only a verified token names a user: no other query parameter is read for identity.
    const verdict = this.verifier.verify(query?.get('token') ?? undefined, request.ns);
    if (!verdict.ok) return { admit: false, status: 401, reason: verdict.reason };
    return { admit: true, visit: { identity: verdict.identity, page: query?.get('page') || request.referer || undefined, userAgent: request.userAgent, ip } };
  }
}

function queryOf(target: string): URLSearchParams | undefined {
  const at = target.indexOf('?');
  return at === -1 ? undefined : new URLSearchParams(target.slice(at + 1));
}
