// The cluster options on the command line: their checks, a clear exit when the group cannot be joined, and
// GET /api/peers (and /api/nodes) behind the admin token, and --redis with a Redis that is not there.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { BIN, freePort, startDaemon, waitForMembers } from './helpers/daemon.js';
import { clusterArgs, randomGroup } from './helpers/cluster.js';
import { httpRequest } from './helpers/http.js';
import { parseExposition } from './helpers/metrics.js';
import { openViewer } from './helpers/sse-client.js';

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 15_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('--help lists the cluster options', () => {
  const { status, stdout } = run(['--help']);
  assert.equal(status, 0);
  for (const option of ['--cluster-interface <ip>', '--cluster-ttl <n>', '--cluster-secret <secret>', '--redis <url>', '--redis-prefix <prefix>', '--redis-cluster']) assert.ok(stdout.includes(option), option);
  assert.match(stdout, /AUDIENCE_METER_CLUSTER_SECRET/);
  assert.match(stdout, /AUDIENCE_METER_REDIS_URL/);
  assert.match(stdout, /default: "audience-meter:"/);
});

const badValues: [string[], RegExp][] = [
  [['-m', '239.255.13.37:314', '--cluster-notify-interval', '2', '--cluster-node-timeout', '3'],
    /^audience-meter: option --cluster-node-timeout must be at least twice --cluster-notify-interval$/],
  [['-m', '10.1.2.3:314'], /--cluster-addr <ip:port>.*multicast group/],
  [['--cluster-interface', 'eth0'], /--cluster-interface <ip>.*IP address of a local interface/],
  [['--cluster-ttl', '256'], /--cluster-ttl <n>.*0 to 255/],
  [['--cluster-secret', 'short'], /--cluster-secret <secret>.*at least 16 characters/],
  [['-m', '239.255.13.37:314', '--redis', 'redis://127.0.0.1:6379'], /^audience-meter: option --redis cannot be used with -m \(--cluster-addr\): choose one cluster transport$/],
  [['--redis', 'http://127.0.0.1:6379'], /--redis <url>.*must start with redis:\/\/ or rediss:\/\//],
  [['--redis', 'not a url'], /--redis <url>.*must be a URL/],
  [['--redis', 'redis://127.0.0.1:6379/zero'], /--redis <url>.*database number/],
  [['--redis', 'redis://127.0.0.1:6379', '--redis-prefix', 'with space'], /--redis-prefix <prefix>.*printable characters without spaces/],
  [['--redis-cluster'], /^audience-meter: option --redis-cluster needs --redis$/],
  [['--redis', 'redis://127.0.0.1:6379', '--cluster-notify-interval', '2', '--cluster-node-timeout', '3'],
    /^audience-meter: option --cluster-node-timeout must be at least twice --cluster-notify-interval$/],
];

for (const [args, message] of badValues) {
  test(`bad cluster option ${args.join(' ')} → exit 2 and one line`, () => {
    const { status, stderr } = run(args);
    assert.equal(status, 2);
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${stderr}`);
    assert.match(lines[0]!, message);
  });
}

test('a group that cannot be joined on the given interface stops the daemon with one line', async () => {
  const { status, stderr } = run(['--port', String(await freePort()), '--stats-port', '0', '--notification-port', '0', '--demo-port', '0',
    '-w', '1', '-m', '239.255.13.37:31400', '--cluster-interface', '192.0.2.254']);
  assert.equal(status, 1);
  assert.match(stderr, /^audience-meter: cannot join cluster group 239\.255\.13\.37:31400 on 192\.0\.2\.254: /m);
});

test('GET /api/peers answers only with the admin token when one is set', async () => {
  const token = 'an-admin-token-of-enough-length';
  const daemon = await startDaemon(clusterArgs(randomGroup(), '--admin-token', token), { workers: 1 });
  try {
    const url = `http://127.0.0.1:${daemon.notificationPort}/api/peers`;
    assert.equal((await fetch(url)).status, 401);
    const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/json');
    const report = await response.json() as { transport: string; peers: unknown[] };
    assert.equal(report.transport, 'udp-multicast');
    assert.deepEqual(report.peers, []);
  } finally {
    await daemon.stop();
  }
});

test('without -m, /api/peers says this node is alone', async () => {
  const daemon = await startDaemon([], { workers: 1 });
  try {
    const response = await fetch(`http://127.0.0.1:${daemon.notificationPort}/api/peers`);
    assert.deepEqual(await response.json(), { transport: 'none', peers: [], dropped: {} });
  } finally {
    await daemon.stop();
  }
});

test('with --redis and no Redis there, the node serves its own viewers alone, says so once, and /api/nodes tells it', async () => {
  // A port nobody listens on: connection refused at once, again and again.
  const deadPort = await freePort();
  const daemon = await startDaemon(['--redis', `redis://:secret-password@127.0.0.1:${deadPort}/3`, '--cluster-notify-interval', '0.2', '--cluster-node-timeout', '1'], { workers: 1 });
  try {
    const response = await fetch(`http://127.0.0.1:${daemon.notificationPort}/api/nodes`);
    const report = await response.json() as { transport: string; self: { redis: { url: string; connected: boolean; joined: boolean; lastError: string | null } } };
    assert.equal(report.transport, 'redis');
    assert.equal(report.self.redis.connected, false);
    assert.equal(report.self.redis.joined, false);
    assert.equal(report.self.redis.url, `redis://:***@127.0.0.1:${deadPort}/3`, 'no password shown');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const lines = daemon.stderr().split('\n').filter((line) => line.includes('is unreachable'));
    assert.equal(lines.length, 1, daemon.stderr());
    assert.ok(!daemon.stderr().includes('secret-password'));
    // It serves and counts its own viewers, and says in /metrics and /readyz that it has not joined.
    const viewer = await openViewer(daemon.port, '/alone');
    try {
      await waitForMembers(daemon, 'alone', 1);
      const metrics = parseExposition((await httpRequest(daemon.notificationPort, '/metrics')).body).values;
      assert.equal(metrics.get('audience_meter_cluster_joined'), 0);
      assert.equal(metrics.get('audience_meter_viewers'), 1);
      const readyz = await httpRequest(daemon.port, '/readyz');
      assert.deepEqual([readyz.status, readyz.body], [503, 'not joined to the cluster yet\n']);
    } finally {
      viewer.close();
    }
  } finally {
    await daemon.stop();
  }
});

test('AUDIENCE_METER_REDIS_URL stands for --redis', async () => {
  const deadPort = await freePort();
  const daemon = await startDaemon(['--cluster-notify-interval', '0.2', '--cluster-node-timeout', '1'], { workers: 1, env: { AUDIENCE_METER_REDIS_URL: `redis://127.0.0.1:${deadPort}/4` } });
  try {
    const report = await (await fetch(`http://127.0.0.1:${daemon.notificationPort}/api/nodes`)).json() as { transport: string; self: { redis: { url: string } } };
    assert.equal(report.transport, 'redis');
    assert.equal(report.self.redis.url, `redis://127.0.0.1:${deadPort}/4`);
  } finally {
    await daemon.stop();
  }
});
