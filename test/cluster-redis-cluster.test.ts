// --redis-cluster: a Redis Cluster of three masters the test starts itself (Debian's redis-server on free
// loopback ports, joined with redis-cli --cluster create), and two nodes counting one audience through it,
// every key of theirs in one slot (the hash tag). Skipped with a reason where redis-server is missing; under
// CI=true it must be there.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Cluster } from 'ioredis';
import { peersOf, startNode, waitForMesh } from './helpers/cluster.js';
import { freePort, waitFor, waitForMembers, type Daemon } from './helpers/daemon.js';
import { redisScope } from './helpers/redis.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';

const missing = ['/usr/bin/redis-server', '/usr/bin/redis-cli'].filter((file) => !existsSync(file));
if (missing.length > 0 && process.env.CI === 'true') throw new Error(`${missing.join(', ')} required under CI=true`);
const skip = missing.length > 0 ? `${missing.join(', ')} missing` : false;

function cli(port: number, ...args: string[]): string {
  return spawnSync('/usr/bin/redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8' }).stdout;
}

describe('a Redis Cluster of three (--redis-cluster)', { skip }, () => {
  let dir: string;
  const servers: ChildProcess[] = [];
  let ports: number[] = [];
  let a: Daemon;
  let b: Daemon;
  const viewers: SseClient[] = [];
  let scope: ReturnType<typeof redisScope>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'audience-meter-redis-cluster-'));
    ports = [await freePort(), await freePort(), await freePort()];
    for (const port of ports) {
      servers.push(spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
        '--cluster-config-file', `nodes-${port}.conf`, '--save', '', '--appendonly', 'no', '--dir', dir], { cwd: dir, stdio: 'ignore' }));
    }
    await waitFor(() => ports.every((port) => cli(port, 'ping').trim() === 'PONG'), 10_000, 'the three servers to answer');
    const created = spawnSync('/usr/bin/redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
    assert.equal(created.status, 0, created.stdout + created.stderr);
    await waitFor(() => ports.every((port) => cli(port, 'cluster', 'info').includes('cluster_state:ok')), 20_000, 'the cluster to be ok');
    // The nodes know one server of the three; the client learns the others and follows their redirects.
    const start = ports[0]!;
    scope = redisScope({ url: `redis://127.0.0.1:${start}`, db: 0 });
    [a, b] = await Promise.all([startNode(scope, ['--redis-cluster']), startNode(scope, ['--redis-cluster'])]);
    await waitForMesh([a, b]);
  });
  after(async () => {
    for (const viewer of viewers) viewer.close();
    await Promise.all([a, b].map((d) => d?.stop()));
    for (const server of servers) server.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('two nodes count one audience through it; their keys share one slot', async () => {
    viewers.push(await openViewer(a.port, '/sharded'), await openViewer(b.port, '/sharded'), await openViewer(b.port, '/sharded'));
    for (const node of [a, b]) await waitForMembers(node, 'sharded', 3);
    assert.equal((await peersOf(a)).self!.redis!.connected, true);
    const client = new Cluster([{ host: '127.0.0.1', port: ports[0]! }]);
    try {
      await new Promise((resolve) => client.once('ready', resolve));
      const keys: string[] = [];
      for (const node of client.nodes('master')) keys.push(...await node.keys(`${scope.prefix}*`));
      assert.ok(keys.length >= 3, keys.join());
      const slots = new Set(await Promise.all(keys.map(async (key) => client.cluster('KEYSLOT', key))));
      assert.equal(slots.size, 1);
    } finally {
      client.disconnect();
    }
  });
});
