// HTTP exchanges for tests: one request over a fresh connection (status, headers and the whole body), or raw bytes.
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export function httpRequest(port: number, path: string, { method = 'GET', headers = {} as Record<string, string>, body = '' } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    // A request that unexpectedly opens a stream must fail the test, not hang it.
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: no complete answer within 10 s`)));
    req.end(body);
  });
}

/** The status of a GET. */
export async function httpStatus(port: number, path: string): Promise<number> {
  return (await httpRequest(port, path)).status;
}

/**
 * Bytes written as they are on a fresh connection (requests node's client would never send), and everything
 * the server answered until it closed; fails after `timeoutMs` without a close.
 */
export function rawExchange(port: number, bytes: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes, 'latin1'));
    let text = '';
    const timer = setTimeout(() => socket.destroy(new Error(`${JSON.stringify(bytes.slice(0, 60))}: not closed within ${timeoutMs} ms`)), timeoutMs);
    socket.setEncoding('latin1').on('data', (chunk: string) => { text += chunk; });
    socket.on('close', () => { clearTimeout(timer); resolve(text); });
    socket.on('error', (error) => { clearTimeout(timer); reject(error); });
  });
}
