// SIGHUP on the real daemon (two workers): a reload, never a stop. A rotated --auth-secret-file is used at
// once by every worker, the previous secret is accepted for --auth-secret-grace and refused after it, open
// streams stay; a swapped --geoip-db gives new sessions the new country; one log line says what was
// reloaded; what cannot be read is kept; a HUP sent to a worker kills nothing; SIGTERM still writes exits.
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { STORES, type StoreUnderTest } from './helpers/attendance-stores.js';
import { ALTERNATE_WORKERS, isAlive, startDaemon, waitFor, type Daemon } from './helpers/daemon.js';
import { httpRequest } from './helpers/http.js';
import { writeMmdb } from './helpers/mmdb-writer.js';
import { SseClient } from './helpers/sse-client.js';
import { signToken } from './helpers/tokens.js';
import { IdentityVerifier, REFUSALS } from '../src/attendance/identity.js';

const OLD_SECRET = 'old-secret-0123456789abcdef';
const NEW_SECRET = 'new-secret-0123456789abcdef';
/** Long enough for the checks made inside it, on a slow machine too. */
const GRACE_SECONDS = 10;
const NS = 'rotation';

const dir = mkdtempSync(join(tmpdir(), 'audience-meter-reload-'));
const secretFile = join(dir, 'auth-secret');
const geoipDb = join(dir, 'country.mmdb');
let store: StoreUnderTest;
let daemon: Daemon;
const viewers: SseClient[] = [];

before(async () => {
  store = await STORES.find((kind) => kind.name === 'sqlite')!.create();
});
after(async () => {
  for (const viewer of viewers) viewer.close();
  if (daemon && isAlive(daemon.process.pid!)) await daemon.stop();
  await store?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** Replaces a file the way MaxMind's updater and secret managers do: a new file renamed over the old one. */
function replaceFile(path: string, write: (tmp: string) => void): void {
  const tmp = `${path}.new`;
  write(tmp);
  renameSync(tmp, path);
}

/** Opens a stream with a token signed by `secret`; resolves once the daemon has answered (200 or 401). */
async function viewerSignedWith(secret: string, user: string): Promise<SseClient> {
  const token = await signToken({ sub: user, secret });
  const viewer = new SseClient(daemon.port, `/${NS}?token=${token}`);
  viewers.push(viewer);
  await viewer.waitForResponse();
  if (viewer.status === 200) await viewer.waitForEvents(1);
  return viewer;
}

/** The country the attendance log stored for this viewer's session. */
async function storedCountry(viewer: SseClient): Promise<unknown> {
  let rows: Record<string, unknown>[] = [];
  // Until the daemon has created its tables, reading them fails: that is "not stored yet".
  await waitFor(async () => (rows = await store.rows('SELECT country FROM audience_meter_sessions WHERE session = ?', [viewer.events[0]!.id!]).catch(() => [])).length > 0, 8000, 'the session to be stored');
  return rows[0]!.country;
}

/** The countries the admin listing (the live feed's lookup) shows for the namespace, once it lists `expected`. */
async function listedCountries(expected: number): Promise<unknown[]> {
  let countries: unknown[] = [];
  await waitFor(async () => {
    const reply = await httpRequest(daemon.notificationPort, `/api/connections?ns=${NS}&limit=1000`);
    countries = (JSON.parse(reply.body) as { connections: { country: unknown }[] }).connections.map((c) => c.country);
    return countries.length === expected;
  }, 5000, `${expected} connections listed`);
  return countries;
}

/** Waits for the next SIGHUP line after `before` lines of stderr, and returns it. */
async function nextReloadLine(before: number): Promise<string> {
  let lines: string[] = [];
  await waitFor(() => (lines = daemon.stderr().split('\n').slice(before).filter((line) => line.includes('SIGHUP'))).length > 0, 5000, 'the reload line');
  assert.equal(lines.length, 1, daemon.stderr());
  return lines[0]!;
}

const lineCount = (): number => daemon.stderr().split('\n').length - 1;

test('SIGHUP rotates the auth secret with a grace, reloads the GeoIP file, and stops nothing', async () => {
  writeFileSync(secretFile, `${OLD_SECRET}\n`);
  writeMmdb(geoipDb, { '127.0.0.0/8': { country: { iso_code: 'AQ' } } });
  daemon = await startDaemon(['--auth-secret-file', secretFile, '--auth-secret-grace', String(GRACE_SECONDS), '--geoip-db', geoipDb,
    '--attendance', store.target, '--notify-min-delay', '0.1'], { workers: 2, env: ALTERNATE_WORKERS });
  const workers = daemon.workerPids();
  assert.equal(workers.length, 2);

  const kept = await viewerSignedWith(OLD_SECRET, 'kept');
  assert.equal(kept.status, 200);
  assert.equal(await storedCountry(kept), 'AQ');
  assert.deepEqual(await listedCountries(1), ['AQ']);

  replaceFile(secretFile, (tmp) => writeFileSync(tmp, `${NEW_SECRET}\n`));
  replaceFile(geoipDb, (tmp) => writeMmdb(tmp, { '127.0.0.0/8': { country: { iso_code: 'NZ' } } }));
  const before = lineCount();
  process.kill(daemon.process.pid!, 'SIGHUP');
  const line = await nextReloadLine(before);
  assert.match(line, new RegExp(`^audience-meter: SIGHUP: new auth secret from ${secretFile} \\(the previous one is accepted for ${GRACE_SECONDS} s more\\); reloaded --geoip-db ${geoipDb}$`));
  const rotatedAt = Date.now();

  // A HUP that reaches the workers (a closed terminal sends it to the whole group) stops nothing either.
  for (const pid of workers) process.kill(pid, 'SIGHUP');

  // Inside the grace, on both workers (connections alternate): new-secret and old-secret tokens get in.
  for (const [secret, user] of [[NEW_SECRET, 'new-1'], [NEW_SECRET, 'new-2'], [OLD_SECRET, 'old-1'], [OLD_SECRET, 'old-2']] as const) {
    const viewer = await viewerSignedWith(secret, user);
    assert.equal(viewer.status, 200, `${user}: ${viewer.body}`);
  }
  assert.ok(Date.now() - rotatedAt < GRACE_SECONDS * 1000, 'the checks above ran inside the grace');
  const forged = await viewerSignedWith('some-other-secret-0123456789', 'forged');
  assert.equal(forged.status, 401);
  assert.match(forged.body, /token signature is invalid/);
  // A new session gets the new database's country; the open one kept its own.
  assert.equal(await storedCountry(viewers.find((v) => v.status === 200 && v !== kept)!), 'NZ');
  assert.equal(await storedCountry(kept), 'AQ');
  // The admin listing looks every open connection up in the current file when it is listed (the primary keeps
  // no connection; its worker keeps the address, not a country).
  const listed = await listedCountries(5);
  assert.deepEqual(listed, ['NZ', 'NZ', 'NZ', 'NZ', 'NZ'], `every listed viewer from the new file: ${listed}`);

  // After the grace the old secret is refused, on every worker; the viewer who came in with it stays.
  await waitFor(async () => (await viewerSignedWith(OLD_SECRET, 'late')).status === 401, (GRACE_SECONDS + 10) * 1000, 'the old secret to be refused');
  for (const user of ['late-1', 'late-2']) assert.equal((await viewerSignedWith(OLD_SECRET, user)).status, 401, user);
  for (const user of ['after-1', 'after-2']) assert.equal((await viewerSignedWith(NEW_SECRET, user)).status, 200, user);
  assert.equal(kept.ended, false, 'the stream opened with the old secret is still open');
  assert.ok(isAlive(daemon.process.pid!));
  assert.deepEqual(daemon.workerPids().sort(), [...workers].sort(), 'no worker died or was replaced');

  // A worker forked after the rotation (a respawn) verifies with the new secret, not the one it was started with.
  process.kill(workers[0]!, 'SIGKILL');
  await waitFor(() => daemon.workerPids().length === 2 && !daemon.workerPids().includes(workers[0]!), 10_000, 'the worker to be respawned');
  await waitFor(() => /worker \d+ .*respawning/.test(daemon.stderr()), 5000, 'the respawn to be logged');
  const respawned: SseClient[] = [];
  await waitFor(async () => {
    const viewer = await viewerSignedWith(NEW_SECRET, 'respawned');
    if (viewer.status === 200) respawned.push(viewer);
    return respawned.length >= 4;
  }, 10_000, 'new-secret viewers on both workers');
  for (const user of ['old-on-respawn-1', 'old-on-respawn-2']) assert.equal((await viewerSignedWith(OLD_SECRET, user)).status, 401, user);

  // What cannot be read is kept, and said; the daemon goes on.
  rmSync(secretFile);
  writeFileSync(geoipDb, 'not a MaxMind file');
  const again = lineCount();
  process.kill(daemon.process.pid!, 'SIGHUP');
  const kept2 = await nextReloadLine(again);
  assert.match(kept2, /SIGHUP: kept the current auth secret: --auth-secret-file .* cannot be read \(ENOENT\); kept the current GeoIP database: cannot read --geoip-db /);
  assert.equal((await viewerSignedWith(NEW_SECRET, 'still')).status, 200);

  // SIGTERM is unchanged: every open session's exit is written.
  const open = [respawned[0]!, viewers.find((v) => v.status === 200 && v.events[0]?.id && !v.ended && v !== kept)!];
  assert.equal(await daemon.stop(), 0);
  for (const viewer of open) {
    const [row] = await store.rows('SELECT exit_reason FROM audience_meter_sessions WHERE session = ?', [viewer.events[0]!.id!]);
    assert.equal(row?.exit_reason, 'shutdown');
  }
});

test('the verifier accepts the previous secret until its deadline only, and the current one always', async () => {
  const verifier = new IdentityVerifier(OLD_SECRET, false);
  const [oldToken, newToken, otherToken] = await Promise.all([OLD_SECRET, NEW_SECRET, 'a-third-secret-0123456789'].map((secret) => signToken({ sub: 'u', secret })));
  const verdict = async (token: string) => verifier.verify(token, NS);
  assert.deepEqual(await verdict(oldToken!), { ok: true, identity: { user: 'u', name: null } });
  assert.deepEqual(await verdict(newToken!), { ok: false, reason: REFUSALS.signature });
  verifier.setSecrets({ current: NEW_SECRET, previous: OLD_SECRET, previousUntil: Date.now() + 60_000 });
  assert.equal((await verdict(newToken!)).ok, true);
  assert.equal((await verdict(oldToken!)).ok, true);
  assert.deepEqual(await verdict(otherToken!), { ok: false, reason: REFUSALS.signature });
  verifier.setSecrets({ current: NEW_SECRET, previous: OLD_SECRET, previousUntil: Date.now() - 1 });
  assert.deepEqual(await verdict(oldToken!), { ok: false, reason: REFUSALS.signature });
  assert.equal((await verdict(newToken!)).ok, true);
  // An old-secret token gets the previous secret's own verdict: expired, not a bad signature.
  verifier.setSecrets({ current: NEW_SECRET, previous: OLD_SECRET, previousUntil: Date.now() + 60_000 });
  const expired = await signToken({ sub: 'u', secret: OLD_SECRET, expiresIn: -60 });
  assert.deepEqual(await verdict(expired), { ok: false, reason: REFUSALS.expired });
});
