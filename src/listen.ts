// Binding a port, with the one line an operator needs when it fails, and the one line saying where it listens.
import type { AddressInfo, Server } from 'node:net';

/** The daemon's ports, each moved by its own option. */
export type PortName = 'public' | 'stats' | 'notification' | 'demo' | 'cluster group';

const OPTION_OF: Record<PortName, string> = {
  public: '--port',
  stats: '--stats-port',
  notification: '--notification-port',
  demo: '--demo-port',
  'cluster group': '--cluster-addr',
};

export function describeBindError(what: PortName, port: number, code: string | undefined): string {
  const move = what === 'cluster group' ? '--cluster-addr <ip:port>' : `${OPTION_OF[what]} <port>`;
  switch (code) {
    case 'EACCES':
      return `cannot listen on ${what} port ${port}: permission denied; ports below 1024 need CAP_NET_BIND_SERVICE `
        + `(the systemd unit's AmbientCapabilities, or setcap; see docs/operations.md), or move it with ${move}`;
    case 'EADDRINUSE':
      return `cannot listen on ${what} port ${port}: address in use; another process holds it, stop it or move this one with ${move}`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${what} port ${port}: the address is not on this machine; pick another host`;
    default:
      return `cannot listen on ${what} port ${port}: ${code ?? 'unknown error'}`;
  }
}

export class BindError extends Error {
  constructor(readonly what: PortName, readonly port: number, readonly code: string | undefined) {
    super(describeBindError(what, port, code));
  }
}

/** Resolves once listening; rejects with a BindError naming the port and the option that moves it. */
export function listen(server: Server, what: PortName, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => reject(new BindError(what, port, error.code));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** `host:port` of a listening server, IPv6 in brackets, as a browser or `nc` takes it. */
export function hostPort(address: AddressInfo | string | null): string {
  if (address === null) return 'an unknown address';
  if (typeof address === 'string') return address;
  return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}
