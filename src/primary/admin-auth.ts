// The admin port's bearer token. Compared in constant time over fixed-length digests, so neither the
// content nor the length of the token leaks through timing.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

export function bearerChecker(token: string | undefined): (req: IncomingMessage) => boolean {
  if (!token) return () => true;
  const expected = digest(token);
  return (req) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match !== null && timingSafeEqual(digest(match[1]!), expected);
  };
}
