// Start-up as an operator sees it: one line per port, the attendance file settled at start, one line and an
// exit status for a missing build or an unwritable database path (a port in use: cli.test.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BIN, freePort, readStats, runCommand, waitFor } from './helpers/daemon.js';
import { openViewer } from './helpers/sse-client.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function run(bin: string, args: string[], cwd?: string): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 10_000, cwd });
  return { status: result.status, stderr: result.stderr };
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${stderr}`);
  return lines[0]!;
}

test('without a build: one line saying to run npm ci, exit 1', (t) => {
  const copy = mkdtempSync(join(tmpdir(), 'am-nobuild-'));
  t.after(() => rmSync(copy, { recursive: true, force: true }));
  mkdirSync(join(copy, 'bin'));
  cpSync(BIN, join(copy, 'bin', 'audience-meter'));
  writeFileSync(join(copy, 'package.json'), JSON.stringify({ name: 'audience-meter', version: '3.0.0', type: 'module' }));
  const { status, stderr } = run(join(copy, 'bin', 'audience-meter'), ['--port', '0']);
  assert.equal(status, 1);
  assert.match(oneLine(stderr), /^audience-meter: the build \(dist\/\) is missing: run npm ci first/);
});

test('built but without node_modules: one line naming the missing package, exit 1', (t) => {
  const copy = mkdtempSync(join(tmpdir(), 'am-nodeps-'));
  t.after(() => rmSync(copy, { recursive: true, force: true }));
  cpSync(join(ROOT, 'bin'), join(copy, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'dist', 'src'), join(copy, 'dist', 'src'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(copy, 'package.json'));
  const { status, stderr } = run(join(copy, 'bin', 'audience-meter'), ['--port', '0']);
  assert.equal(status, 1);
  assert.match(oneLine(stderr), /^audience-meter: \S+ is not installed: run npm ci first/);
});

for (const [name, prepare, why] of [
  ['a missing directory', (dir: string) => join(dir, 'no-such-dir', 'x.db'), /its directory does not exist/],
  ['a directory', (dir: string) => { mkdirSync(join(dir, 'db')); return join(dir, 'db'); }, /it is a directory/],
  ['a path under a file', (dir: string) => { writeFileSync(join(dir, 'file'), ''); return join(dir, 'file', 'x.db'); }, /not a directory/],
] as const) {
  test(`--attendance on ${name}: exit 2 and one line, before anything listens`, (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'am-badpath-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = prepare(dir);
    const { status, stderr } = run(BIN, ['--port', '0', '--workers', '1', '--stats-port', '0', '--notification-port', '0', '--demo-port', '0', '--attendance', path]);
    assert.equal(status, 2);
    const line = oneLine(stderr);
    assert.ok(line.startsWith(`audience-meter: option --attendance: cannot write ${path}: `), line);
    assert.match(line, why);
  });
}

test('start-up: one line per port, the default database resolved to an absolute path; a database gone later does not stop counting', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'am-start-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ports = { '--port': await freePort(), '--stats-port': await freePort(), '--notification-port': await freePort(), '--demo-port': await freePort() };
  // No --attendance: the default ./audience-meter.db, relative to the directory the daemon starts in.
  const args = ['--host', '127.0.0.1', '--workers', '2', ...Object.entries(ports).flatMap(([option, port]) => [option, String(port)])];
  const daemon = await runCommand(process.execPath, [BIN, ...args], { cwd: dir });
  const members = async (ns: string): Promise<number> => (await readStats(ports['--stats-port']))[ns]?.members ?? 0;
  try {
    const stderr = daemon.stderr();
    const lines = stderr.trim().split('\n');
    const expected = [
      `audience-meter: stats on 127.0.0.1:${ports['--stats-port']}`,
      `audience-meter: admin on http://127.0.0.1:${ports['--notification-port']}/admin`,
      new RegExp(`^audience-meter: demo on http://\\S+:${ports['--demo-port']}/$`),
      `audience-meter: attendance log: SQLite ${dir}/audience-meter.db`,
      `audience-meter: listening on http://127.0.0.1:${ports['--port']} with 2 workers`,
    ];
    for (const [i, want] of expected.entries()) {
      if (typeof want === 'string') assert.equal(lines[i], want, stderr);
      else assert.match(lines[i]!, want, stderr);
    }
    assert.ok(existsSync(join(dir, 'audience-meter.db')), 'the database is created at start');

    // The database's directory vanishes while running: viewers are still counted.
    rmSync(dir, { recursive: true, force: true });
    const viewer = await openViewer(ports['--port'], '/still-counting');
    await waitFor(async () => (await members('still-counting')) === 1, 5000, 'the viewer to be counted');
    viewer.close();
    await waitFor(async () => (await members('still-counting')) === 0, 5000, 'the viewer to leave');
  } finally {
    await daemon.stop();
  }
});
