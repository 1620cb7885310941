// A tick's report larger than a part (src/worker/report-parts.ts) crosses the IPC channel in parts and the
// primary acts on it whole, on a real daemon: a crowd that joins and leaves within a few ticks, each viewer
// with a long User-Agent, is counted out, and every session is written to the attendance log, entered and closed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { SESSIONS } from '../src/attendance/schema.js';
import { startDaemon, waitFor } from './helpers/daemon.js';

const VIEWERS = 600;
const USER_AGENT = `Mozilla/5.0 (X11; Linux x86_64) ${'AppleWebKit/537.36 (KHTML, like Gecko) '.repeat(10)}`.slice(0, 500);

/** A raw SSE request; resolves with the socket once the first event came. */
function openStream(port: number, ns: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`GET /${ns} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nUser-Agent: ${USER_AGENT}\r\n\r\n`);
    });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (/\r\n\r\n[\s\S]*data: /.test(text)) resolve(socket);
    });
    socket.once('error', reject);
  });
}

test('a crowd larger than one part per tick is counted and written whole', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'am-parts-'));
  const path = join(dir, 'a.db');
  const daemon = await startDaemon(['--attendance', path, '--debug'], { workers: 1 });
  t.after(async () => {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const sockets = await Promise.all(Array.from({ length: VIEWERS }, (_, i) => openStream(daemon.port, `parts-${i % 7}`)));
  for (const socket of sockets) socket.end();
  await waitFor(async () => Object.values(await daemon.stats()).every((n) => n.members === 0), 10_000, 'every viewer counted out');
  const closed = (): number => {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare(`SELECT COUNT(*) AS n FROM ${SESSIONS} WHERE exit_at IS NOT NULL AND exit_reason = 'left'`).get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  await waitFor(() => closed() === VIEWERS, 10_000, `${VIEWERS} sessions written, each closed as left`);
  const parts = [...daemon.stderr().matchAll(/a report of worker \d+ in (\d+) parts/g)].map((m) => Number(m[1]));
  assert.ok(parts.length > 0 && parts.every((n) => n >= 2), `reports in parts: ${parts.join(', ')}`);
});
