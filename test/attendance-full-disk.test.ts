// The attendance log on a full disk, for real: the daemon's SQLite file sits on a small tmpfs of the test's
// own, the test fills it until ENOSPC, and viewers who come and go meanwhile are still counted; their
// entries and exits wait in the queue and are all written once space is freed (SIGTERM writes the rest).
// Mounting needs root (CAP_SYS_ADMIN): where the mount is refused, the test is skipped with the reason.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startDaemon, waitFor, waitForMembers } from './helpers/daemon.js';
import { openViewer, type SseClient } from './helpers/sse-client.js';
import { AUTH_SECRET, signToken } from './helpers/tokens.js';

const VIEWERS = 150; // every third one anonymous
const LEAVING = 50; // of those, the first ones leave while the disk is full

/** Mounts a 4 MB tmpfs on `dir`; the reason it cannot, or false once mounted. */
function mountTmpfs(dir: string): string | false {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { stdio: 'pipe' });
    return false;
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim().split('\n')[0];
    return `cannot mount a tmpfs here (${stderr || (error as Error).message}); needs root with CAP_SYS_ADMIN`;
  }
}

const mountDir = mkdtempSync(join(tmpdir(), 'audience-meter-full-disk-'));
const skip = mountTmpfs(mountDir);
if (skip) process.stderr.write(`# skipping the full-disk test: ${skip}\n`);
after(() => {
  if (!skip) {
    // Lazily if something still holds a file there (a daemon left by a failed test): never leave the mount.
    try { execFileSync('umount', [mountDir], { stdio: 'pipe' }); } catch { execFileSync('umount', ['-l', mountDir], { stdio: 'pipe' }); }
  }
  rmSync(mountDir, { recursive: true, force: true });
});

/** Writes a file until the filesystem has no block left (ENOSPC), and returns its path. */
function fillDisk(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  return path;
}

function readRows(path: string, sql: string): Record<string, unknown>[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

async function viewer(port: number, n: number): Promise<SseClient> {
  const query = n % 3 === 2 ? '' : `?token=${await signToken({ sub: `u${n}` })}`;
  return openViewer(port, `/full-disk${query}`);
}

test('a full disk: viewers are counted, the log says it cannot write, and once space is freed every entry and exit is written', { skip, timeout: 120_000 }, async () => {
  const dbPath = join(mountDir, 'attendance.db');
  const daemon = await startDaemon(['--auth-secret', AUTH_SECRET, '--attendance', dbPath], { workers: 2 });
  const viewers: SseClient[] = [];
  let stopped = false;
  try {
    // The log works before the disk fills: the first viewer's entry is written.
    viewers.push(await viewer(daemon.port, 0));
    const first = viewers[0]!.events[0]!.id!;
    await waitFor(() => readRows(dbPath, `SELECT 1 FROM audience_meter_sessions WHERE session = '${first}'`).length === 1, 10_000, 'the first entry');

    const filler = fillDisk(mountDir);
    for (let n = 1; n < VIEWERS; n++) viewers.push(await viewer(daemon.port, n));
    await waitForMembers(daemon, 'full-disk', VIEWERS, 10_000);
    await waitFor(() => /attendance log: cannot write to .*(full|space)/.test(daemon.stderr()), 15_000, 'the full disk on stderr');
    for (const v of viewers.slice(0, LEAVING)) v.close();
    await waitForMembers(daemon, 'full-disk', VIEWERS - LEAVING, 10_000);
    assert.equal(readRows(dbPath, 'SELECT count(*) AS n FROM audience_meter_sessions')[0]!.n, 1, 'nothing written while the disk is full');

    rmSync(filler);
    await waitFor(() => /attendance log: .* is writable again after \d+ s; .*none lost/.test(daemon.stderr()), 30_000, 'the recovery on stderr');
    assert.equal(await daemon.stop(), 0);
    stopped = true;

    const rows = readRows(dbPath, 'SELECT session, user_id, exit_reason FROM audience_meter_sessions');
    const bySession = new Map(rows.map((r) => [String(r.session), r]));
    assert.equal(rows.length, VIEWERS, 'one row per stream');
    viewers.forEach((v, n) => {
      const row = bySession.get(v.events[0]!.id!);
      assert.ok(row, `the entry of viewer ${n}`);
      assert.equal(row.user_id, n % 3 === 2 ? null : `u${n}`);
      assert.equal(row.exit_reason, n < LEAVING ? 'left' : 'shutdown', `the exit of viewer ${n}`);
    });
    assert.doesNotMatch(daemon.stderr(), /dropped/);
  } finally {
    for (const v of viewers) v.close();
    if (!stopped) await daemon.stop();
  }
});
