// rediss:// with a password or an ACL user: a Redis server of the test's own (Debian's redis-server, on a free
// loopback port, TLS only, with certificates the test makes with openssl), two nodes counting together through
// it (one with the default user's password, `:password@`, one as an ACL user, `user:password@`), and a
// node with the wrong password that keeps serving alone and says why. Skipped with a reason where
// redis-server or openssl is missing; under CI=true they must be there.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { peersOf, startNode, waitForMesh } from './helpers/cluster.js';
import { freePort, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { redisScope } from './helpers/redis.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';

const REDIS_SERVER = '/usr/bin/redis-server';
const missing = [REDIS_SERVER, '/usr/bin/openssl'].filter((file) => !existsSync(file));
if (missing.length > 0 && process.env.CI === 'true') throw new Error(`${missing.join(', ')} required under CI=true`);
const skip = missing.length > 0 ? `${missing.join(', ')} missing` : false;
const PASSWORD = 'a-password-for-the-tls-test';
/** An ACL user (Redis 6+) with what a node needs: every key and channel (the prefix is the operator's choice), every command. */
const ACL_USER = 'audience';
const ACL_PASSWORD = 'the-acl-user-password';

function openssl(dir: string, ...args: string[]): void {
  const result = spawnSync('/usr/bin/openssl', args, { cwd: dir, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args[0]}: ${result.stderr}`);
}

/** A CA, and a server certificate it signed for 127.0.0.1. */
function makeCertificates(dir: string): void {
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=audience-meter test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr');
  spawnSync('/bin/sh', ['-c', 'printf "subjectAltName=IP:127.0.0.1\\n" > san.ext'], { cwd: dir });
  openssl(dir, 'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'san.ext', '-out', 'server.pem');
}

describe('rediss:// with a password', { skip }, () => {
  let dir: string;
  let server: ChildProcess;
  let port: number;
  let a: Daemon;
  let b: Daemon;
  const viewers: SseClient[] = [];
  let env: Record<string, string>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'audience-meter-redis-tls-'));
    makeCertificates(dir);
    port = await freePort();
    server = spawn(REDIS_SERVER, ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', 'server.pem', '--tls-key-file', 'server.key',
      '--tls-ca-cert-file', 'ca.pem', '--tls-auth-clients', 'no', '--requirepass', PASSWORD, '--user', ACL_USER, 'on', `>${ACL_PASSWORD}`, '~*', '&*', '+@all',
      '--save', '', '--appendonly', 'no', '--dir', dir], { cwd: dir, stdio: 'ignore' });
    let log = '';
    await waitFor(() => {
      const probe = spawnSync('/usr/bin/redis-cli', ['--tls', '--cacert', join(dir, 'ca.pem'), '-h', '127.0.0.1', '-p', String(port), '-a', PASSWORD, '--no-auth-warning', 'ping'], { encoding: 'utf8' });
      log = probe.stdout + probe.stderr;
      return probe.stdout.trim() === 'PONG';
    }, 10_000, 'the TLS Redis to answer');
    assert.ok(log.includes('PONG'));
    // The nodes trust the test's CA the way an operator would make Node trust a private one.
    env = { NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') };
    const scope = redisScope({ url: `rediss://:${PASSWORD}@127.0.0.1:${port}`, db: 0 });
    // The same prefix (one cluster), reached as the ACL user.
    const asUser = redisScope({ url: `rediss://${ACL_USER}:${ACL_PASSWORD}@127.0.0.1:${port}`, db: 0, prefix: scope.prefix });
    [a, b] = await Promise.all([startNode(scope, [], { env }), startNode(asUser, [], { env })]);
    await waitForMesh([a, b]);
  });
  after(async () => {
    for (const viewer of viewers) viewer.close();
    await Promise.all([a, b].map((d) => d?.stop()));
    server?.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('nodes count together over TLS, with a password or as an ACL user; a node with the wrong password serves alone and says why', async () => {
    viewers.push(await openViewer(a.port, '/secure'), await openViewer(b.port, '/secure'));
    for (const node of [a, b]) await waitForMembers(node, 'secure', 2);
    assert.match((await peersOf(a)).self!.redis!.url, /^rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0$/);
    // The user name is shown, its password never.
    assert.match((await peersOf(b)).self!.redis!.url, new RegExp(`^rediss://${ACL_USER}:\\*\\*\\*@127\\.0\\.0\\.1:\\d+/0$`));

    const intruder = await startNode(redisScope({ url: `rediss://:wrong-password@127.0.0.1:${port}`, db: 0 }), [], { env });
    try {
      viewers.push(await openViewer(intruder.port, '/secure'));
      await waitForMembers(intruder, 'secure', 1);
      await waitFor(async () => (await peersOf(intruder)).self!.redis!.lastError !== null, 10_000, 'the intruder to say why it is alone');
      const report = await peersOf(intruder);
      assert.equal(report.self!.redis!.joined, false);
      assert.match(report.self!.redis!.lastError!, /WRONGPASS|NOAUTH|invalid/i);
      for (const node of [a, b]) assert.equal((await node.stats()).secure!.members, 2, 'the intruder is not counted');
    } finally {
      await intruder.stop();
    }
  });
});
