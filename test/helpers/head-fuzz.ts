// Generated, mutated and random request heads, for the fuzz tests of the head reader (test/request-head.test.ts
// on the function, test/request-head-daemon.test.ts on the real daemon). Deterministic: a seed replays a case.

/** A deterministic generator so a failure can be replayed (the seed is in the assertion message). */
export function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state / 0x1_0000_0000;
  };
}

const PATH_CHARS = 'abcXYZ019-._~%!$&\'()*+,;=:@/?';
const VALUE_CHARS = 'abc XYZ/;=,*.-_019text/event-stream';

export function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

function word(rand: () => number, chars: string, max: number): string {
  let out = '';
  const length = 1 + Math.floor(rand() * max);
  for (let i = 0; i < length; i++) out += chars[Math.floor(rand() * chars.length)];
  return out;
}

export interface Generated { bytes: Buffer; method: string; target: string; accept?: string; lastEventId?: string }

export function generate(rand: () => number): Generated {
  const method = pick(rand, ['GET', 'POST'] as const);
  const target = `/${word(rand, PATH_CHARS, 40)}`;
  const headers: [string, string][] = [['Host', 'example.test']];
  let accept: string | undefined;
  let lastEventId: string | undefined;
  if (rand() < 0.8) headers.push([pick(rand, ['Accept', 'accept', 'ACCEPT']), (accept = word(rand, VALUE_CHARS, 30).trim() || 'x')]);
  if (rand() < 0.3) headers.push(['Last-Event-ID', (lastEventId = word(rand, 'abcdef0123456789', 20))]);
  if (rand() < 0.3) headers.push(['User-Agent', word(rand, VALUE_CHARS, 60).trim() || 'ua']);
  if (rand() < 0.2) headers.push(['Content-Length', '0']);
  if (rand() < 0.3) headers.push([`X-${word(rand, 'abcdefgh', 8)}`, word(rand, VALUE_CHARS, 20).trim()]);
  const text = `${method} ${target} HTTP/1.${rand() < 0.9 ? 1 : 0}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return { bytes: Buffer.from(text, 'latin1'), method, target, accept, lastEventId };
}

/** 1 to 4 random edits (a byte replaced, removed, or inserted: often a NUL, LF, CR, space, colon, tab). */
export function mutate(rand: () => number, bytes: Buffer): Buffer {
  const mutated = [...bytes];
  for (let n = 1 + Math.floor(rand() * 4); n > 0; n--) {
    const at = Math.floor(rand() * mutated.length);
    const op = rand();
    if (op < 0.4) mutated[at] = Math.floor(rand() * 256);
    else if (op < 0.7) mutated.splice(at, 1);
    else mutated.splice(at, 0, pick(rand, [0, 10, 13, 32, 58, 9, 127, 255, Math.floor(rand() * 256)]));
  }
  return Buffer.from(mutated);
}

/** Up to `max` random bytes. */
export function randomBytes(rand: () => number, max: number): Buffer {
  return Buffer.from(Array.from({ length: Math.floor(rand() * max) }, () => Math.floor(rand() * 256)));
}
