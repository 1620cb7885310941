// The documentation that can drift: docs/options.md against `--help` (every option, its default and its
// environment variable), and the README's quick start against the daemon it starts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BIN } from './helpers/daemon.js';

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
