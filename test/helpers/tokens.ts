// Identity tokens as an event site's backend would sign them (jose, HS256).
import { SignJWT } from 'jose';

export const AUTH_SECRET = 'test-auth-secret-0123456789';

export interface TokenClaims {
  sub?: string;
  ns?: string | string[];
  name?: string;
  /** Seconds from now; negative: already expired. */
  expiresIn?: number;
  secret?: string;
}

export function signToken({ sub = 'user-1', ns, name, expiresIn = 3600, secret = AUTH_SECRET }: TokenClaims = {}): Promise<string> {
  const claims: Record<string, unknown> = {};
  if (ns !== undefined) claims.ns = ns;
  if (name !== undefined) claims.name = name;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn)
    .sign(new TextEncoder().encode(secret));
}
