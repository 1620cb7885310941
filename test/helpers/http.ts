// One HTTP request over a fresh connection, for tests: status, headers and the whole body.
import { request, type IncomingHttpHeaders } from 'node:http';

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
