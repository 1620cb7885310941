// Reading a POST's JSON body on the admin port: at most 4 KB (413 past that, without reading the rest),
// and valid JSON (400). The reasons are one line each, for curl users.
import type { IncomingMessage } from 'node:http';

export const MAX_BODY_BYTES = 4096;

export type BodyResult = { ok: true; value: unknown } | { ok: false; status: 400 | 413; reason: string };

export function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<BodyResult> {
  const tooLarge: BodyResult = { ok: false, status: 413, reason: `the body is larger than ${limit} bytes` };
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(tooLarge);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: BodyResult): void => {
      if (done) return;
      done = true;
      resolve(result);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        // Stop reading; the answer is sent and the connection closed, so the rest never has to arrive.
        req.pause();
        return finish(tooLarge);
      }
      chunks.push(chunk);
    });
    req.on('error', () => finish({ ok: false, status: 400, reason: 'the body could not be read' }));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return finish({ ok: false, status: 400, reason: 'the body is empty; expected JSON' });
      try {
        finish({ ok: true, value: JSON.parse(text) });
      } catch (error) {
        finish({ ok: false, status: 400, reason: `the body is not valid JSON: ${(error as Error).message.split('\n')[0]}` });
      }
    });
  });
}
