// Identity tokens for identified crowds: one HS256 token per viewer (sub viewer-0 … viewer-N−1, valid for 6
// hours), a line each, in a temp file the swarms read (sse-swarm.ts --token-file). Removed at exit.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { log, round } from './run-kit.js';

export async function tokenFile(viewers: number, secret: string): Promise<{ path: string; remove(): void }> {
  const key = new TextEncoder().encode(secret);
  const exp = Math.floor(Date.now() / 1000) + 6 * 3600;
  const t0 = performance.now();
  const lines: string[] = [];
  for (let i = 0; i < viewers; i++) {
    lines.push(await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(`viewer-${i}`).setIssuedAt().setExpirationTime(exp).sign(key));
  }
  const dir = mkdtempSync(join(tmpdir(), 'am-tokens-'));
  const path = join(dir, 'tokens.txt');
  writeFileSync(path, `${lines.join('\n')}\n`);
  log(`signed ${viewers} tokens in ${round(performance.now() - t0)} ms`);
  const remove = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', remove);
  return { path, remove };
}
