// The command line: help, version, and exit status 2 with one clear line for every bad value.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { describeBindError } from '../src/listen.js';
import { BIN, freePort } from './helpers/daemon.js';

function run(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('--help lists every 2.x option and exits 0', () => {
  const { status, stdout } = run(['--help']);
  assert.equal(status, 0);
  for (const option of ['-d, --debug', '-w, --workers', '-m, --cluster-addr', '--max-conn-duration', '--enable-uuid',
    '--cluster-notify-interval', '--cluster-node-timeout', '--notify-delta-ratio', '--notify-min-delay', '--notify-max-delay',
    '--increment-delay', '--namespace-clean-delay', '--demo-port', '--stats-port', '--notification-port', '-V, --version',
    '-h, --help', '--port', '--host']) {
    assert.ok(stdout.includes(option), `help mentions ${option}`);
  }
  assert.match(stdout, /default: 3600/);
  assert.match(stdout, /default: 0\.1/);
});

test('-V prints the version', () => {
  const { status, stdout } = run(['-V']);
  assert.equal(status, 0);
  assert.match(stdout.trim(), /^\d+\.\d+\.\d+$/);
});

const badValues: [string[], RegExp][] = [
  [['--workers', 'abc'], /--workers <num>.*'abc'.*whole number/],
  [['-w', '0'], /--workers <num>/],
  [['--max-conn-duration', '-5'], /--max-conn-duration <seconds>.*'-5'/],
  [['--drain-seconds', 'later'], /--drain-seconds <seconds>.*'later'.*must be a number/],
  [['--notify-delta-ratio', '1.5'], /--notify-delta-ratio <ratio>.*ratio from 0 to 1/],
  [['--notify-min-delay', 'soon'], /--notify-min-delay <seconds>.*must be a number/],
  [['--notify-min-delay', '0'], /--notify-min-delay <seconds>.*at least 0.01/],
  [['--port', '70000'], /--port <port>.*port number/],
  [['--stats-port', '-1'], /--stats-port <port>/],
  [['-m', '239.255.13.37'], /--cluster-addr <ip:port>.*IP:PORT/],
  [['-m', 'example.com:314'], /--cluster-addr <ip:port>/],
  [['-m', '239.255.13.37:99999'], /--cluster-addr <ip:port>/],
  [['--no-such-option'], /unknown option '--no-such-option'/],
  [['--notify-min-delay', '5', '--notify-max-delay', '2'], /--notify-max-delay must not be smaller than --notify-min-delay/],
  [['--stats-host', '0.0.0.0'], /--stats-host 0\.0\.0\.0 is not a loopback address: set --admin-token/],
  [['--admin-token', 'short'], /--admin-token <token>.*at least 16 characters/],
  [['--admin-token', 'has spaces in the token'], /--admin-token <token>.*without spaces/],
  [['--auth-secret', 'short'], /--auth-secret <secret>.*at least 16 characters/],
  [['--auth-secret-file', '/nonexistent/secret'], /--auth-secret-file <path>.*cannot be read/],
  [['--max-devices', '-1'], /--max-devices <n>.*whole number/],
  [['--max-devices', 'two', '--auth-secret', 'a-secret-of-16-chars'], /--max-devices <n>.*whole number/],
  [['--require-auth'], /--require-auth needs --auth-secret/],
  [['--max-namespaces', '0'], /--max-namespaces <n>.*whole number from 1/],
  [['--max-namespaces', 'many'], /--max-namespaces <n>.*whole number from 1/],
  [['--max-conns-per-ip', '-3'], /--max-conns-per-ip <n>.*whole number from 0/],
  [['--max-devices', '2'], /--max-devices needs --auth-secret/],
  [['--auth-secret', 'a-secret-of-16-chars', '--auth-secret-file', BIN], /--auth-secret-file cannot be used with --auth-secret/],
];

for (const [args, message] of badValues) {
  test(`bad option ${args.join(' ')} → exit 2 and one line`, () => {
    const { status, stderr } = run(args);
    assert.equal(status, 2);
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${stderr}`);
    assert.match(lines[0]!, /^audience-meter: /);
    assert.match(lines[0]!, message);
  });
}

test('PORT from the environment is invalid → exit 2 naming the option', () => {
  const { status, stderr } = run([], { PORT: 'eighty' });
  assert.equal(status, 2);
  assert.match(stderr, /--port <port>/);
});

for (const which of ['--port', '--stats-port', '--notification-port', '--demo-port']) {
  test(`a ${which} held by another process → non-zero exit with the port and the fix`, async () => {
    const blocker = createServer();
    const port = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)));
    try {
      const ports: Record<string, string> = {
        '--port': String(await freePort()), '--stats-port': String(await freePort()), '--notification-port': String(await freePort()),
        '--demo-port': String(await freePort()),
      };
      ports[which] = String(port);
      const args = ['--host', '127.0.0.1', '--demo-host', '127.0.0.1', '--workers', '1', '--attendance', 'off', ...Object.entries(ports).flat()];
      const { status, stderr } = run(args);
      assert.notEqual(status, 0);
      assert.match(stderr, new RegExp(`cannot listen on \\w+ port ${port}: address in use; another process holds it, stop it or move this one with ${which} <port>`));
    } finally {
      blocker.close();
    }
  });
}

test('permission errors name the fix (root cannot provoke EACCES, so the message is checked directly)', () => {
  assert.equal(describeBindError('public', 80, 'EACCES'), 'cannot listen on public port 80: permission denied; ports below 1024 need CAP_NET_BIND_SERVICE '
    + '(the systemd unit\'s AmbientCapabilities, or setcap; see docs/operations.md), or move it with --port <port>');
});
