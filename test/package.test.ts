// The npm package as a user gets it: `npm pack` holds what runs and nothing that points at a missing file,
// its runtime dependencies are exactly what the shipped code imports, and installing the tarball globally
// into a temporary --prefix gives a working `audience-meter` (better-sqlite3 compiled on the way).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, readStats, runCommand, waitFor } from './helpers/daemon.js';
import { httpStatus } from './helpers/http.js';
import { openViewer } from './helpers/sse-client.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INSTALL_TIMEOUT_MS = 15 * 60_000;

interface Packed { filename: string; files: { path: string }[] }

describe('the npm package', () => {
  const work = mkdtempSync(join(tmpdir(), 'am-package-'));
  let tarball: string;
  let files: string[];
  let unpacked: string;

  before(() => {
    // The build is there (npm test runs tsc first): pack it as is rather than building again.
    const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(pack.status, 0, pack.stderr);
    const [packed] = JSON.parse(pack.stdout) as Packed[];
    tarball = join(work, packed!.filename);
    files = packed!.files.map((f) => f.path);
    unpacked = join(work, 'unpacked');
    mkdirSync(unpacked);
    assert.equal(spawnSync('tar', ['xzf', tarball, '-C', unpacked, '--strip-components=1']).status, 0);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('holds what runs, and no tests, benchmarks or source maps without their sources', () => {
    for (const needed of ['bin/audience-meter', 'dist/src/cli.js', 'dist/src/worker/main.js', 'client/admin.html', 'client/audience.js',
      'contrib/audience-meter.service', 'contrib/audience-meter.env', 'contrib/grafana-dashboard.json', 'docs/operations.md', 'README.md', 'LICENSE']) {
      assert.ok(files.includes(needed), `${needed} is in the package`);
    }
    for (const file of files) {
      assert.doesNotMatch(file, /^(test|bench|src)\/|^dist\/(test|bench)\//, `${file} does not belong in the package`);
      assert.doesNotMatch(file, /\.map$/, `${file}: a source map whose sources are not shipped`);
    }
  });

  test('every relative link of the shipped docs and unit points at a shipped file', () => {
    for (const doc of files.filter((f) => f.endsWith('.md'))) {
      for (const [, link] of readFileSync(join(unpacked, doc), 'utf8').matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(link!)) continue;
        const target = normalize(join(dirname(doc), link!));
        // Files of the repository that do not ship are linked on the repository's site, never relatively.
        assert.ok(files.includes(target) || files.some((f) => f.startsWith(`${target}/`)), `${doc} links to ${link}, not in the package`);
      }
    }
    const unit = readFileSync(join(unpacked, 'contrib/audience-meter.service'), 'utf8');
    const documentation = /^Documentation=file:\/usr\/local\/lib\/node_modules\/audience-meter\/(\S+)$/m.exec(unit);
    assert.ok(documentation && files.includes(documentation[1]!), 'the unit\'s Documentation= names a shipped file');
  });

  test('runtime dependencies are exactly the packages the shipped code imports', () => {
    const manifest = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8')) as Record<string, any>;
    const imported = new Set<string>();
    for (const file of files.filter((f) => f.endsWith('.js') || f === 'bin/audience-meter')) {
      for (const [, specifier] of readFileSync(join(unpacked, file), 'utf8').matchAll(/(?:^|\s)(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)|^import '([^']+)'/gm)) {
        if (!specifier || specifier.startsWith('.') || specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
        imported.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!);
      }
    }
    assert.deepEqual(Object.keys(manifest.dependencies).sort(), [...imported].sort());
    assert.ok(manifest.repository?.url, 'repository');
    assert.ok(manifest.homepage, 'homepage');
    assert.ok(Array.isArray(manifest.keywords) && manifest.keywords.length > 0, 'keywords');
  });

  test('npm install -g of the tarball into a temporary prefix gives a working audience-meter', { timeout: INSTALL_TIMEOUT_MS }, async (t) => {
    const prefix = join(work, 'prefix');
    const started = Date.now();
    // --prefer-offline: the cache that `npm ci` filled serves what it can. JOBS=max: node-gyp compiles
    // better-sqlite3 (SQLite itself) on every core.
    const install = spawnSync('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball],
      { encoding: 'utf8', env: { ...process.env, JOBS: 'max' }, timeout: INSTALL_TIMEOUT_MS });
    t.diagnostic(`npm install -g took ${Math.round((Date.now() - started) / 1000)} s`);
    assert.equal(install.status, 0, install.stderr);
    const bin = join(prefix, 'bin', 'audience-meter');
    const version = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    assert.ok(readdirSync(join(prefix, 'lib', 'node_modules', 'audience-meter', 'node_modules')).includes('better-sqlite3'));

    // Started as a user would, in a directory of its own: the default SQLite log proves the native module loads.
    const cwd = join(work, 'run');
    mkdirSync(cwd);
    const [port, statsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
    const daemon = await runCommand(bin, ['--host', '127.0.0.1', '--port', String(port), '--stats-port', String(statsPort), '--notification-port', String(adminPort),
      '--demo-port', '0', '--workers', '1'], { cwd });
    try {
      assert.match(daemon.stderr(), new RegExp(`attendance log: SQLite ${cwd}/audience-meter\\.db`));
      const viewer = await openViewer(port, '/installed');
      await waitFor(async () => (await readStats(statsPort)).installed?.members === 1, 5000, 'the viewer to be counted');
      viewer.close();
      assert.equal(await httpStatus(adminPort, '/admin'), 200, 'the admin page ships');
      assert.equal(await httpStatus(port, '/client/audience.js'), 200, 'the browser client ships');
      await waitFor(() => /schema migrated/.test(daemon.stderr()), 5000, 'the attendance log to open its database');
    } finally {
      await daemon.stop();
    }
  });
});
