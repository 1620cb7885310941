// A real nginx in front of the daemon, as docs/proxies.md tells operators to run it: the server block is
// read from that page (so the documented configuration is the tested one), pointed at the test's daemon,
// and run on a free loopback port with everything else (pid, logs, temp files) in a temp dir of its own.
// Without nginx, a test skips with a reason, except under CI=true, where that is a failure.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './daemon.js';
import { connect } from 'node:net';

const IN_CI = process.env.CI === 'true';
export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((path) => spawnSync(path, ['-v']).status === 0);
export const SKIP_NGINX: string | false = NGINX || IN_CI
  ? false
  : 'nginx is missing (apt-get install nginx-light); set CI=true to make this a failure';

const DOC = new URL('../../../docs/proxies.md', import.meta.url);
const DOC_UPSTREAM = 'server 127.0.0.1:8000;';
const DOC_LISTEN = 'listen 80;';

/** The nginx block of docs/proxies.md, with its upstream and listen lines pointed at this test's ports. */
export function documentedConfig(daemonPort: number, listenPort: number): string {
  const block = /```nginx\n([\s\S]*?)```/.exec(readFileSync(DOC, 'utf8'))?.[1];
  if (!block) throw new Error('docs/proxies.md has no ```nginx block');
  for (const line of [DOC_UPSTREAM, DOC_LISTEN]) {
    if (!block.includes(line)) throw new Error(`docs/proxies.md's nginx block no longer has "${line}"`);
  }
  return block.replace(DOC_UPSTREAM, `server 127.0.0.1:${daemonPort};`).replace(DOC_LISTEN, `listen 127.0.0.1:${listenPort};`);
}

export interface Nginx {
  port: number;
  /** The master process. */
  pid: number;
  /** nginx's access log so far (one line per finished request, `combined` format). */
  accessLog(): string;
  stop(): Promise<void>;
}

export async function startNginx(daemonPort: number): Promise<Nginx> {
  if (!NGINX) throw new Error('CI=true but nginx is missing: CI must install it (apt-get install nginx-light)');
  const dir = mkdtempSync(join(tmpdir(), 'audience-meter-nginx-'));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `
daemon off;
master_process on;
worker_processes 1;
# Two sockets per viewer (browser side, daemon side).
worker_rlimit_nofile 10000;
${process.getuid?.() === 0 ? 'user root;' : ''}
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${documentedConfig(daemonPort, port)}
}
`);
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', conf, '-e', `${dir}/error.log`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const kill = (): void => { child.kill('SIGKILL'); };
  process.once('exit', kill);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitFor(() => child.exitCode !== null || accepts(port), 10_000, 'nginx to listen');
  } catch (error) {
    kill();
    throw error;
  }
  if (child.exitCode !== null) {
    const log = readOr(join(dir, 'error.log'));
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`nginx exited with ${child.exitCode}: ${stderr}${log}`);
  }
  return {
    port,
    pid: child.pid!,
    accessLog: () => readOr(join(dir, 'access.log')),
    async stop() {
      process.off('exit', kill);
      if (child.exitCode === null) child.kill('SIGTERM'); // fast shutdown: a graceful one would wait for every stream
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
      kill();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}
