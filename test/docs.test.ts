// The documentation that can drift: docs/options.md against `--help` (every option, its default and its
// environment variable), the README's quick start against the daemon it starts, and every link between the pages.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { test } from 'node:test';
import { BIN, freePort, readStats, runCommand, waitFor } from './helpers/daemon.js';
import { httpRequest, httpStatus } from './helpers/http.js';
import { openViewer } from './helpers/sse-client.js';

interface HelpEntry { flags: string; default?: string; env?: string }

/** Each option of `--help`, its description lines joined. */
function helpEntries(): HelpEntry[] {
  const help = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' }).stdout;
  const entries: { flags: string; text: string }[] = [];
  for (const line of help.split('\n').slice(help.split('\n').indexOf('Options:') + 1)) {
    const start = /^ {2}(-\S.*?)(?: {2,}(.*))?$/.exec(line);
    if (start) entries.push({ flags: start[1]!, text: start[2] ?? '' });
    else if (line.trim() !== '') entries.at(-1)!.text += ` ${line.trim()}`;
  }
  return entries.map(({ flags, text }) => ({
    flags,
    default: /\(default: "?([^",)]+)"?[,)]/.exec(text)?.[1],
    env: /env: (\w+)\)/.exec(text)?.[1],
  }));
}

/** The first two cells of each option row of docs/options.md. */
function documentedOptions(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const [, flags, defaults] of readFileSync(new URL('../../docs/options.md', import.meta.url), 'utf8').matchAll(/^\| `(-[^`]+)` \|([^|]*)\|/gm)) {
    rows.set(flags!, defaults!.trim());
  }
  return rows;
}

test('docs/options.md lists exactly the options of --help, with their defaults and environment variables', () => {
  const help = helpEntries();
  const documented = documentedOptions();
  assert.ok(help.length > 30, `parsed --help (${help.length} options)`);
  assert.deepEqual([...documented.keys()].sort(), help.map((e) => e.flags).sort());
  for (const entry of help) {
    const cell = documented.get(entry.flags)!;
    if (entry.env) assert.ok(cell.includes(`$${entry.env}`), `${entry.flags}: the docs name $${entry.env}`);
    if (entry.default === 'false') assert.match(cell, /^off/, `${entry.flags}: off by default`);
    else if (entry.default !== undefined && /^[\w./:-]+$/.test(entry.default) && !/ /.test(entry.default)) {
      assert.ok(cell.includes(`\`${entry.default}\``), `${entry.flags}: default ${entry.default} in ${JSON.stringify(cell)}`);
    }
  }
});

/** The commands of the first ```sh block after `heading` in README.md, comments dropped. */
function readmeCommands(heading: string): string[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const at = readme.indexOf(`\n${heading}\n`);
  assert.notEqual(at, -1, `README has ${heading}`);
  const section = readme.slice(at);
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  assert.ok(block, `a sh block under ${heading}`);
  return block[1]!.split('\n').map((line) => line.replace(/\s+#.*$/, '').trim()).filter(Boolean);
}

test('the README quick start: npm ci, then bin/audience-meter on a port above 1024 serves the demo page; then npm test', async (t) => {
  const [install, start, ...rest] = readmeCommands('## Quick start');
  assert.equal(install, 'npm ci');
  assert.deepEqual(rest, []);
  const argv = start!.split(/\s+/);
  assert.equal(argv[0], 'bin/audience-meter', 'started from the checkout, without sudo');
  const port = Number(argv[argv.indexOf('--port') + 1]);
  assert.ok(port > 1024, 'no root needed');
  assert.deepEqual(readmeCommands('Then the tests:'), ['npm test']);

  // The same command, on free ports (this machine may run anything on 8000, 8080, 1442, 2442), in a directory of its own.
  const dir = mkdtempSync(join(tmpdir(), 'am-quickstart-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [publicPort, statsPort, adminPort, demoPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const args = argv.slice(1).map((arg, i, all) => (all[i - 1] === '--port' ? String(publicPort) : arg));
  const daemon = await runCommand(process.execPath, [BIN, ...args, '--workers', '1', '--stats-port', String(statsPort), '--notification-port', String(adminPort),
    '--demo-port', String(demoPort)], { cwd: dir });
  try {
    const demo = await httpRequest(demoPort, '/my-event');
    assert.equal(demo.status, 200);
    assert.match(demo.body, /audience\.js/);
    assert.equal(await httpStatus(adminPort, '/admin'), 200);
    const viewer = await openViewer(publicPort, '/my-event');
    await waitFor(async () => (await readStats(statsPort))['my-event']?.members === 1, 5000, 'the viewer counted');
    viewer.close();
  } finally {
    await daemon.stop();
  }
});

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes. */
function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, '').replaceAll(' ', '-');
}

test('every relative link of README.md and docs/ reaches a file, and its #anchor a heading there', () => {
  const root = new URL('../../', import.meta.url);
  const pages = ['README.md', ...readdirSync(new URL('docs/', root)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const text = (page: string): string => readFileSync(new URL(page, root), 'utf8');
  let links = 0;
  for (const page of pages) {
    for (const [, path, anchor] of text(page).matchAll(/\]\(([^)#\s]*)(?:#([^)\s]+))?\)/g)) {
      if (/^[a-z]+:/.test(path!)) continue;
      const target = path ? normalize(join(dirname(page), path)) : page;
      assert.ok(existsSync(new URL(target, root)), `${page} links to ${path}, which does not exist`);
      if (anchor && target.endsWith('.md')) {
        const anchors = [...text(target).matchAll(/^#+ (.*)$/gm)].map(([, heading]) => anchorOf(heading!));
        assert.ok(anchors.includes(anchor), `${page} links to ${target}#${anchor}, no such heading`);
      }
      links++;
    }
  }
  assert.ok(links > 20, `checked ${links} links`);
});
