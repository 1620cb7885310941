// contrib/audience-meter.service and contrib/audience-meter.env: systemd-analyze verify accepts the unit
// (no unknown key, an executable ExecStart), it holds the hardening the docs promise, and the daemon starts
// with the environment the unit and the example env file give it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BIN, freePort, runCommand } from './helpers/daemon.js';
import { httpRequest } from './helpers/http.js';
import { skipWithout } from './helpers/tools.js';

const UNIT = readFileSync(new URL('../../contrib/audience-meter.service', import.meta.url), 'utf8');
const ENV_FILE = readFileSync(new URL('../../contrib/audience-meter.env', import.meta.url), 'utf8');
/** Where `npm install -g` with the usual prefix (/usr/local) puts the command. */
const INSTALLED_BIN = '/usr/local/bin/audience-meter';

/** Key → values of the [Service] section (a key may repeat, like Environment=). */
function serviceSection(unit: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let section = '';
  for (const raw of unit.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    if (section !== 'Service') continue;
    const [key, ...value] = line.split('=');
    keys.set(key!, [...(keys.get(key!) ?? []), value.join('=')]);
  }
  return keys;
}

const service = serviceSection(UNIT);

test('systemd-analyze verify accepts the unit, with ExecStart pointing at a real audience-meter', { skip: skipWithout('systemd-analyze', 'systemd') }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'am-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(service.get('ExecStart')?.[0]?.split(' ')[0], INSTALLED_BIN);
  // verify checks that ExecStart's program exists and is executable: this checkout's stands in for the installed one.
  const unit = join(dir, 'audience-meter.service');
  const withProgram = (program: string): string => UNIT.replace(new RegExp(`^ExecStart=${INSTALLED_BIN} `, 'm'), `ExecStart=${program} `);
  writeFileSync(unit, withProgram(BIN));
  const verify = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stderr);
  assert.equal(`${verify.stdout}${verify.stderr}`.trim(), '', 'no warning (an unknown or misspelt key is only a warning)');

  // And verify is not a rubber stamp: the unit as shipped names a program this machine may not have.
  writeFileSync(unit, withProgram(join(dir, 'missing')));
  assert.notEqual(spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' }).status, 0);
});

test('the unit runs unprivileged, hardened, with a state directory and restarts on failure only', () => {
  const one = (key: string): string | undefined => service.get(key)?.at(-1);
  assert.equal(one('DynamicUser'), 'yes');
  assert.equal(one('StateDirectory'), 'audience-meter');
  assert.equal(one('Restart'), 'on-failure');
  assert.equal(one('RestartPreventExitStatus'), '2', 'a bad option (exit 2) is not retried forever');
  assert.equal(one('ProtectSystem'), 'strict');
  assert.equal(one('NoNewPrivileges'), 'yes');
  assert.equal(one('AmbientCapabilities'), 'CAP_NET_BIND_SERVICE');
  assert.equal(one('CapabilityBoundingSet'), 'CAP_NET_BIND_SERVICE');
  assert.equal(one('EnvironmentFile'), '-/etc/audience-meter/audience-meter.env');
  assert.ok(Number(one('LimitNOFILE')) >= 65536);
});

test('the daemon starts with the unit\'s environment and every example of the env file', async (t) => {
  const stateRoot = mkdtempSync(join(tmpdir(), 'am-state-'));
  t.after(() => rmSync(stateRoot, { recursive: true, force: true }));
  const stateDir = join(stateRoot, 'audience-meter');
  mkdirSync(stateDir);
  const env: Record<string, string> = {};
  for (const assignment of service.get('Environment') ?? []) {
    const [key, ...value] = assignment.split('=');
    env[key!] = value.join('=').replaceAll('%S', stateRoot);
  }
  // Every commented example of the env file, as an operator uncommenting them all would have.
  for (const line of ENV_FILE.split('\n')) {
    const example = /^#([A-Z_]+)=(.*)$/.exec(line);
    if (example) env[example[1]!] = example[2]!;
  }
  assert.match(env.AUDIENCE_METER_ATTENDANCE!, /^postgres:\/\//, 'the env file shows a PostgreSQL URL');
  // …but this test keeps the unit's SQLite file in the state directory, and its own free ports.
  env.AUDIENCE_METER_ATTENDANCE = `${stateRoot}/audience-meter/attendance.db`;
  env.PORT = String(await freePort());
  env.HOST = '127.0.0.1';
  const adminPort = await freePort();
  const args = [...env.AUDIENCE_METER_FLAGS!.split(' '), '--notification-port', String(adminPort), '--stats-port', String(await freePort()), '--demo-port', '0'];
  const daemon = await runCommand(process.execPath, [BIN, ...args], { cwd: stateDir, env: { PATH: process.env.PATH!, ...env } });
  try {
    const stderr = daemon.stderr();
    assert.match(stderr, new RegExp(`attendance log: SQLite ${stateDir}/attendance\\.db`));
    assert.match(stderr, /with 4 workers/, 'AUDIENCE_METER_FLAGS reached the command line');
    // The admin token of the env file is the one the admin port asks for.
    assert.equal((await httpRequest(adminPort, '/api/connections')).status, 401);
    const authorized = await httpRequest(adminPort, '/api/connections', { headers: { Authorization: `Bearer ${env.AUDIENCE_METER_ADMIN_TOKEN}` } });
    assert.equal(authorized.status, 200);
  } finally {
    await daemon.stop();
  }
});
