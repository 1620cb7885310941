// The browser scripts served on the public port (/client/audience.js, /client/jquery.audience.js): read
// once at start, served with an ETag so browsers and CDNs cache them.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';

const CLIENT_DIR = new URL('../../../client/', import.meta.url);
const NAMES = ['audience.js', 'jquery.audience.js'];

interface ClientFile {
  body: Buffer;
  etag: string;
}

const files = new Map<string, ClientFile>(NAMES.map((name) => {
  const body = readFileSync(new URL(name, CLIENT_DIR));
  return [name, { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` }];
}));

/** Serves a client script; false when `name` is not one. */
export function serveClientFile(name: string, req: IncomingMessage, res: ServerResponse): boolean {
  const file = files.get(name);
  if (!file) return false;
  const headers = {
    'Content-Type': 'application/javascript; charset=utf-8',
    'Cache-Control': 'public, max-age=3600',
    'Access-Control-Allow-Origin': '*',
    ETag: file.etag,
  };
  if (req.headers['if-none-match'] === file.etag) {
    res.writeHead(304, headers);
    res.end();
  } else {
    res.writeHead(200, { ...headers, 'Content-Length': file.body.length });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  }
  return true;
}
