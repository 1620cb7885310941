// Small clients for the daemon's side ports, used by the benchmarks: notification GETs, the stats
// dump, free-port discovery and readiness polling. Loopback only.

import http from 'node:http';
import net from 'node:net';

export interface NotifyOutcome {
  namespace: string;
  status: number | string;
  ms: number;
}

/**
 * GET /{ns}/{service}/{message} on the notification port for every namespace at once, from
 * `localAddress` when given (a source address of its own keeps these requests clear of the local
 * ports held by the viewers' sockets).
 */
export function notifyAll(
  host: string,
  port: number,
  namespaces: string[],
  service: string,
  message: string,
  localAddress?: string,
): Promise<NotifyOutcome[]> {
  return Promise.all(
    namespaces.map(
      (ns) =>
        new Promise<NotifyOutcome>((resolve) => {
          const start = performance.now();
          const path = `/${encodeURIComponent(ns)}/${encodeURIComponent(service)}/${encodeURIComponent(message)}`;
          const req = http.request({ host, port, localAddress, path, method: 'GET', agent: false, timeout: 10_000 }, (res) => {
            res.resume();
            res.on('end', () => resolve({ namespace: ns, status: res.statusCode ?? 0, ms: performance.now() - start }));
            res.on('error', (err) => resolve({ namespace: ns, status: err.message, ms: performance.now() - start }));
          });
          req.on('timeout', () => req.destroy(new Error('timeout')));
          req.on('error', (err: NodeJS.ErrnoException) =>
            resolve({ namespace: ns, status: err.code ?? err.message, ms: performance.now() - start }),
          );
          req.end();
        }),
    ),
  );
}

export interface NamespaceStats {
  created?: number;
  connections?: number;
  members?: number;
  modified?: number;
  [field: string]: unknown;
}

/** Connects to the stats port, reads until the daemon closes, parses the JSON object. */
export function readStats(host: string, port: number, timeoutMs = 5_000, localAddress?: string): Promise<Record<string, NamespaceStats>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect({ host, port, localAddress });
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error(`stats port ${port}: no close within ${timeoutMs} ms`)));
    sock.on('data', (b) => chunks.push(b));
    sock.on('error', reject);
    sock.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(JSON.parse(text) as Record<string, NamespaceStats>);
      } catch {
        reject(new Error(`stats port ${port}: not JSON: ${JSON.stringify(text.slice(0, 200))}`));
      }
    });
  });
}

/** Finds `n` distinct free TCP ports on 127.0.0.1 by binding port 0 (all held until all are known). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let k = 0; k < n; k++) {
      const srv = net.createServer();
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve());
      });
      servers.push(srv);
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/** True when a TCP connection to host:port succeeds within timeoutMs. */
export function canConnect(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
