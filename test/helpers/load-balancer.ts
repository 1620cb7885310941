// A small TCP load balancer for tests, as HAProxy or a cloud balancer runs in front of several nodes: every
// PROBE_MS it asks each backend's GET /readyz (a backend is up after RISE answers of 200 in a row, down after
// FALL other answers or failures), and each new connection goes, round-robin, to the next backend that is up,
// its bytes piped both ways. A connection it cannot place (no backend up, or the backend refused it) is
// closed at once and counted in `refused`: a real balancer's 502/503.
import { request } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';

const PROBE_MS = 200;
const PROBE_TIMEOUT_MS = 1000;
const RISE = 2;
const FALL = 2;

interface Backend {
  port: number;
  up: boolean;
  /** Consecutive probe results that disagree with `up`. */
  streak: number;
  probing: boolean;
  /** Client connections piped to it now. */
  active: number;
}

export class LoadBalancer {
  readonly backends: Backend[];
  /** Connections closed because no backend was up or the chosen one refused. */
  refused = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly timer: NodeJS.Timeout;
  private next = 0;

  constructor(ports: number[]) {
    this.backends = ports.map((port) => ({ port, up: false, streak: 0, probing: false, active: 0 }));
    this.server = createServer((client) => this.place(client));
    this.timer = setInterval(() => { for (const backend of this.backends) this.probe(backend); }, PROBE_MS);
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as { port: number }).port)));
  }

  backend(port: number): Backend {
    return this.backends.find((b) => b.port === port)!;
  }

  close(): void {
    clearInterval(this.timer);
    this.server.close();
    for (const socket of this.sockets) socket.destroy();
  }

  private place(client: Socket): void {
    this.track(client);
    const candidates = this.backends.length;
    let backend: Backend | undefined;
    for (let i = 0; i < candidates && !backend; i++) {
      const candidate = this.backends[(this.next + i) % candidates]!;
      if (candidate.up) {
        backend = candidate;
        this.next = (this.next + i + 1) % candidates;
      }
    }
    if (!backend) {
      this.refused++;
      client.destroy();
      return;
    }
    const chosen = backend;
    const upstream = connect(chosen.port, '127.0.0.1');
    this.track(upstream);
    let connected = false;
    chosen.active++;
    upstream.once('connect', () => { connected = true; });
    const done = (): void => {
      if (!connected && !client.destroyed) this.refused++;
      connected = true;
      client.destroy();
      upstream.destroy();
    };
    upstream.once('close', () => { chosen.active--; done(); });
    client.once('close', done);
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.pipe(upstream);
    upstream.pipe(client);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private probe(backend: Backend): void {
    if (backend.probing) return;
    backend.probing = true;
    let judged = false;
    const judge = (ready: boolean): void => {
      if (judged) return;
      judged = true;
      this.judge(backend, ready);
    };
    const req = request({ host: '127.0.0.1', port: backend.port, path: '/readyz', agent: false }, (res) => {
      res.resume();
      judge(res.statusCode === 200);
    });
    req.setTimeout(PROBE_TIMEOUT_MS, () => req.destroy());
    req.on('error', () => judge(false));
    req.end();
  }

  private judge(backend: Backend, ready: boolean): void {
    backend.probing = false;
    if (ready === backend.up) {
      backend.streak = 0;
      return;
    }
    if (++backend.streak >= (ready ? RISE : FALL)) {
      backend.up = ready;
      backend.streak = 0;
    }
  }
}
