// Binding a port, with the one line an operator needs when it fails.
import type { Server } from 'node:net';

export function describeBindError(what: string, port: number, code: string | undefined): string {
  switch (code) {
    case 'EACCES':
      return `cannot listen on ${what} port ${port}: permission denied; run as root or pick a port above 1024`;
    case 'EADDRINUSE':
      return `cannot listen on ${what} port ${port}: address in use; another process holds it, stop it or pick another port`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${what} port ${port}: the address is not on this machine; pick another host`;
    default:
      return `cannot listen on ${what} port ${port}: ${code ?? 'unknown error'}`;
  }
}

export class BindError extends Error {
  constructor(readonly what: string, readonly port: number, readonly code: string | undefined) {
    super(describeBindError(what, port, code));
  }
}

/** Resolves once listening; rejects with a BindError naming the port and the fix. */
export function listen(server: Server, what: string, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => reject(new BindError(what, port, error.code));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
