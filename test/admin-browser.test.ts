// The admin page in headless Chromium against the real daemon (two workers, an admin token), with two demo
// pages as viewers: the operator sees both, sends one of them a message that shows on that page only, and
// sees the count fall when a viewer leaves; and a namespace, a viewer's name, user id and page, and a message,
// all markup that would run a script if parsed as HTML, shown as text by the admin page and the demo page.
// Same skip rule as browser.test.ts.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, messagesOf, openPage, OUTPUT_DIR, SKIP, waitForCount, waitForMessage, waitForText } from './helpers/browser.js';
import { parseAttendanceTarget } from '../src/attendance/attendance-options.js';
import { createAttendanceLog } from '../src/attendance/create-attendance-log.js';
import type { SessionEntry } from '../src/protocol/sessions.js';
import { startDaemon, waitForMembers, type Daemon } from './helpers/daemon.js';
import { httpRequest } from './helpers/http.js';
import { openViewer } from './helpers/sse-client.js';
import { AUTH_SECRET, signToken } from './helpers/tokens.js';

const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
const NS = 'product launch';
const ROWS = '#connections tbody tr';

describe('admin page', { skip: SKIP }, () => {
  let daemon: Daemon | undefined;
  let browser: Browser | undefined;
  const pageErrors: string[] = [];

  before(async () => {
    await Promise.all([
      startDaemon(['--notify-min-delay', '0.1', '--notify-delta-ratio', '0', '--admin-token', ADMIN_TOKEN], { workers: 2, demo: true })
        .then((d) => (daemon = d)),
      launchChromium().then((b) => (browser = b)),
    ]);
  });

  after(async () => {
    await browser?.close();
    await daemon?.stop();
  });

  test('lists two demo viewers, messages one of them only, and sees one leave', { timeout: 45_000 }, async () => {
    const d = daemon!;
    const demoUrl = `http://127.0.0.1:${d.demoPort}/${encodeURIComponent(NS)}`;
    const contexts = [await browser!.newContext(), await browser!.newContext(), await browser!.newContext({ viewport: { width: 1200, height: 900 } })];
    try {
      // As typed with a trailing slash: the browser lands on /admin.
      const admin = await openPage(contexts[2]!, `http://127.0.0.1:${d.notificationPort}/admin/`, pageErrors);
      assert.equal(admin.url(), `http://127.0.0.1:${d.notificationPort}/admin`);
      // A token is set: the page asks for it before showing anything.
      await admin.waitForSelector('#token-form:not([hidden])');
      await admin.fill('#token-input', ADMIN_TOKEN);
      await admin.click('#token-form button[type=submit]');
      assert.equal(await admin.evaluate(() => sessionStorage.getItem('audience-meter-admin-token')), ADMIN_TOKEN);
      assert.equal(await admin.evaluate(() => localStorage.length), 0, 'the token is kept for the tab only');
      // Before anyone comes, every card says why it is empty.
      await admin.waitForSelector('#namespaces-empty:not([hidden])');
      await admin.waitForSelector('#feed-empty:not([hidden])');
      await admin.waitForSelector('#connections-empty:not([hidden])');
      await waitForText(admin, '#chart-note', 'Select a namespace to see its last hour.');
      await waitForText(admin, '#attendance-empty', 'Select a namespace to see who attended.');
      assert.equal(await admin.evaluate(() => document.querySelector<HTMLLinkElement>('link[rel=icon]')!.href), `http://127.0.0.1:${d.notificationPort}/admin/favicon.svg`);
      assert.equal(await admin.evaluate(async () => (await fetch('/admin/favicon.svg')).headers.get('content-type')), 'image/svg+xml');

      // One viewer at a time, so the admin page's first row is the first demo page.
      const first = await openPage(contexts[0]!, demoUrl, pageErrors);
      await waitForMembers(d, NS, 1);
      await waitForCount(admin, ROWS, 1);
      const firstId = await admin.getAttribute(ROWS, 'data-id');
      assert.ok(firstId);
      // The row tells this viewer apart: a short id (the whole one in its tooltip), the stored address
      // (--ip-storage truncated by default), the full User-Agent in the device cell's tooltip.
      const [node, worker, , counter] = firstId.split('-');
      assert.equal(await admin.textContent(`${ROWS} td.id`), `${node!.slice(0, 4)}-${worker}-${counter}`);
      assert.equal(await admin.getAttribute(`${ROWS} td.id`, 'title'), firstId);
      assert.equal(await admin.textContent(`${ROWS} td.address`), '127.0.0.0');
      assert.equal(await admin.getAttribute(`${ROWS} td.device`, 'title'), await first.evaluate(() => navigator.userAgent));
      await admin.waitForSelector('#feed-empty', { state: 'hidden' });
      await waitForText(admin, '#attendance-empty', 'The attendance log is off (--attendance off): nobody\'s presence is recorded.');
      await waitForText(admin, '#chart-note', 'No earlier sample, then live counts every 2 s');
      const second = await openPage(contexts[1]!, demoUrl, pageErrors);
      await waitForMembers(d, NS, 2);
      for (const page of [first, second]) await waitForText(page, '#count', '2');
      await waitForCount(admin, ROWS, 2);
      await waitForText(admin, `#namespaces tr[data-ns="${NS}"] td.members`, '2');

      // "Send message" on the first viewer's row.
      await admin.click(`${ROWS}[data-id="${firstId}"] button.send`);
      await admin.fill('#send-event', 'offer');
      await admin.fill('#send-data', 'only for you');
      await admin.click('#send-submit');
      // Sent: the dialog closes by itself and the feed says what went where.
      await admin.waitForSelector('#send-dialog', { state: 'hidden' });
      await waitForText(admin, '#feed li:first-child span:last-child', ` "offer" to connection ${firstId}: delivered to 1 connection`);
      assert.equal(await admin.textContent('#feed li:first-child .kind'), 'sent');
      await waitForMessage(first, 'offer: only for you');

      // Then one to everyone: once the second page shows it, the offer would have arrived before it.
      await admin.click(`#namespaces tr[data-ns="${NS}"] button.send-ns`);
      await admin.fill('#send-event', 'announcement');
      await admin.fill('#send-data', 'starting in 5 minutes');
      await admin.click('#send-submit');
      await admin.waitForSelector('#send-dialog', { state: 'hidden' });
      await waitForText(admin, '#feed li:first-child span:last-child', ` "announcement" to everyone watching ${NS}: delivered to 2 connections`);
      for (const page of [first, second]) await waitForMessage(page, 'announcement: starting in 5 minutes');
      assert.deepEqual(await messagesOf(second), ['announcement: starting in 5 minutes'], 'the offer went to the first page only');

      // The feed told the joins; the chart has points.
      await admin.waitForFunction(() => document.querySelectorAll('#feed .kind.join').length >= 2, undefined, { timeout: 10_000 });
      mkdirSync(OUTPUT_DIR, { recursive: true });
      await admin.screenshot({ path: new URL('admin-page.png', OUTPUT_DIR).pathname, fullPage: true });

      await contexts[1]!.close();
      await waitForMembers(d, NS, 1);
      await waitForText(first, '#count', '1');
      await waitForText(admin, `#namespaces tr[data-ns="${NS}"] td.members`, '1');
      await waitForCount(admin, ROWS, 1);
      assert.equal(await admin.getAttribute(ROWS, 'data-id'), firstId);
      await admin.waitForFunction(() => document.querySelectorAll('#feed .kind.leave').length >= 1, undefined, { timeout: 10_000 });
      assert.deepEqual(pageErrors, []);
    } finally {
      await Promise.all(contexts.map((c) => c.close()));
    }
  });
});

/** A namespace with a single stored sample and no identified viewer. */
const ONE_SAMPLE_NS = 'side-room';

/** An hour of stored counts (a rise, a peak, a slow fall) and a few finished sessions, as a past run left them. */
async function seedAttendance(target: string, ns: string, now: number): Promise<void> {
  const log = createAttendanceLog({ attendance: parseAttendanceTarget(target), ipStorage: 'truncated', geoipDb: undefined }, 'seed-node', { flushDelayMs: 1 });
  log.start();
  const people = [['u-ada', 'Ada Lovelace', 50], ['u-alan', 'Alan Turing', 35], ['u-grace', 'Grace Hopper', 20]] as const;
  const entries: SessionEntry[] = people.map(([user, name, minutesAgo], i) => ({
    session: `seed-${i}`, connection: `seed-node-1-0-${i}`, ns, user, name, at: now - minutesAgo * 60_000, page: '/keynote',
    browser: 'Firefox 128', os: 'Linux', device: 'desktop', ip: '192.0.2.7', transport: 'sse',
  }));
  log.record(entries, entries.map((e) => ({ session: e.session, at: now - 5 * 60_000, reason: 'left' as const })));
  for (let minutesAgo = 58; minutesAgo >= 1; minutesAgo--) {
    const t = 60 - minutesAgo;
    log.sample([{ name: ns, members: Math.round(t < 20 ? t * 2 : 40 - (t - 20) * 0.6) }], now - minutesAgo * 60_000);
  }
  log.sample([{ name: ONE_SAMPLE_NS, members: 3 }], now - 10 * 60_000);
  assert.equal(await log.flushed(10_000), true);
  await log.close(now, 5000);
}

describe('admin page with the attendance log', { skip: SKIP }, () => {
  let daemon: Daemon | undefined;
  let browser: Browser | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'audience-meter-admin-'));
  const ns = 'keynote';

  before(async () => {
    const target = join(dir, 'attendance.db');
    await seedAttendance(target, ns, Date.now());
    await Promise.all([
      startDaemon(['--attendance', target, '--notify-min-delay', '0.1'], { workers: 2, demo: true }).then((d) => (daemon = d)),
      launchChromium().then((b) => (browser = b)),
    ]);
  });

  after(async () => {
    await browser?.close();
    await daemon?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('shows the stored hour in the chart and the attendance table with a CSV download', { timeout: 30_000 }, async () => {
    const d = daemon!;
    const viewer = await browser!.newContext();
    const context = await browser!.newContext({ viewport: { width: 1200, height: 900 } });
    try {
      await (await viewer.newPage()).goto(`http://127.0.0.1:${d.demoPort}/${ns}`);
      await waitForMembers(d, ns, 1);
      const admin = await context.newPage();
      await admin.goto(`http://127.0.0.1:${d.notificationPort}/admin`);
      await waitForText(admin, `#namespaces tr[data-ns="${ns}"] td.members`, '1');
      await admin.waitForSelector('#attendance-card:not([hidden])');
      await waitForCount(admin, '#attendance tbody tr', 3);
      await admin.waitForFunction(() => (document.querySelector('#attendance-csv') as HTMLAnchorElement).href.startsWith('blob:'));
      const [download] = await Promise.all([admin.waitForEvent('download'), admin.click('#attendance-csv')]);
      assert.equal(download.suggestedFilename(), `attendance-${ns}.csv`);
      const csv = readFileSync(await download.path(), 'utf8');
      assert.match(csv, /^user,name,sessions/);
      assert.match(csv, /Ada Lovelace/);
      await waitForText(admin, '#chart-note', '58 earlier samples, then live counts every 2 s');
      await waitForCount(admin, ROWS, 1);
      mkdirSync(OUTPUT_DIR, { recursive: true });
      await admin.screenshot({ path: new URL('admin-page-attendance.png', OUTPUT_DIR).pathname, fullPage: true });

      // An anonymous viewer in a namespace with one stored sample: singular, and the attendance card says why it is empty.
      await (await viewer.newPage()).goto(`http://127.0.0.1:${d.demoPort}/${ONE_SAMPLE_NS}`);
      await admin.click(`#namespaces tr[data-ns="${ONE_SAMPLE_NS}"]`);
      await waitForText(admin, '#chart-note', '1 earlier sample, then live counts every 2 s');
      await waitForText(admin, '#attendance-empty', `No identified viewer in ${ONE_SAMPLE_NS} yet: attendance lists viewers whose page passes a signed token (?token=).`);
      assert.equal(await admin.isHidden('#attendance-csv'), true, 'no CSV of nobody');
    } finally {
      await Promise.all([viewer.close(), context.close()]);
    }
  });
});

describe('admin page and demo page with hostile names, pages and messages', { skip: SKIP }, () => {
  // Each one, if ever parsed as HTML, runs a script that records itself in window.__xss.
  const HOSTILE_NS = 'ns <img src=x onerror="__xss.push(\'ns\')">';
  const HOSTILE_NAME = '<img src=x onerror="__xss.push(\'name\')">Mallory';
  const HOSTILE_USER = '<svg onload="__xss.push(\'user\')"></svg>';
  const HOSTILE_PAGE = '/agenda"><script>__xss.push(\'page\')</script><img src=x onerror="__xss.push(\'page\')">';
  const HOSTILE_MESSAGE = '<img src=x onerror="__xss.push(\'message\')"><script>__xss.push(\'message\')</script>';
  let daemon: Daemon | undefined;
  let browser: Browser | undefined;
  const pageErrors: string[] = [];

  before(async () => {
    await Promise.all([
      startDaemon(['--auth-secret', AUTH_SECRET, '--notify-min-delay', '0.1'], { workers: 1, demo: true }).then((d) => (daemon = d)),
      launchChromium().then((b) => (browser = b)),
    ]);
  });
  after(async () => {
    await browser?.close();
    await daemon?.stop();
  });

  test('every one is shown as text and runs nothing', { timeout: 45_000 }, async () => {
    const d = daemon!;
    const context = await browser!.newContext();
    await context.addInitScript(() => { (window as unknown as { __xss: string[] }).__xss = []; });
    try {
      // The admin page first, so its live feed also tells the joins.
      const admin = await openPage(context, `http://127.0.0.1:${d.notificationPort}/admin`, pageErrors);
      await admin.waitForSelector('#feed li');
      const demo = await openPage(context, `http://127.0.0.1:${d.demoPort}/${encodeURIComponent(HOSTILE_NS)}`, pageErrors);
      const token = await signToken({ sub: HOSTILE_USER, name: HOSTILE_NAME });
      const named = await openViewer(d.port, `/${encodeURIComponent(HOSTILE_NS)}?token=${token}&page=${encodeURIComponent(HOSTILE_PAGE)}`);
      const anonymous = await openViewer(d.port, `/${encodeURIComponent(HOSTILE_NS)}?page=${encodeURIComponent(HOSTILE_PAGE)}`);
      await waitForMembers(d, HOSTILE_NS, 3);
      await waitForCount(admin, ROWS, 3);
      const cells = await admin.$$eval(`${ROWS} td`, (tds) => tds.map((td) => td.textContent));
      for (const text of [HOSTILE_NS, HOSTILE_NAME, HOSTILE_PAGE]) assert.ok(cells.includes(text), `${text} shown as text in a cell`);
      assert.equal(await admin.textContent(`#namespaces tr[data-ns="${HOSTILE_NS.replaceAll('"', '\\"')}"] td.name`), HOSTILE_NS);
      await admin.waitForFunction((name) => Array.from(document.querySelectorAll('#feed li'), (li) => li.textContent ?? '').some((line) => line.includes(name)), HOSTILE_NAME, { timeout: 10_000 });
      // A message with markup, to everyone watching: the demo page lists it as text.
      const sent = await httpRequest(d.notificationPort, `/api/namespaces/${encodeURIComponent(HOSTILE_NS)}/messages`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ event: 'notice', data: HOSTILE_MESSAGE }),
      });
      assert.equal(sent.status, 200, sent.body);
      await waitForMessage(demo, `notice: ${HOSTILE_MESSAGE}`);
      // Give any handler that was planted a moment to fire, then look for what it would have left.
      await admin.waitForTimeout(500);
      for (const page of [admin, demo]) {
        assert.deepEqual(await page.evaluate(() => (window as unknown as { __xss: string[] }).__xss), [], `${page.url()}: no planted script ran`);
        assert.equal(await page.evaluate(() => document.querySelectorAll('img[src="x"], svg[onload]').length), 0, `${page.url()}: no planted element`);
      }
      assert.deepEqual(pageErrors, []);
      named.close();
      anonymous.close();
    } finally {
      await context.close();
    }
  });
});

test('/admin/ redirects to /admin; /favicon.ico to the page\'s icon', async () => {
  const daemon = await startDaemon([], { workers: 1 });
  try {
    const slash = await httpRequest(daemon.notificationPort, '/admin/');
    assert.equal(slash.status, 308);
    assert.equal(slash.headers.location, '/admin');
    const icon = await httpRequest(daemon.notificationPort, '/favicon.ico');
    assert.equal(icon.status, 308);
    assert.equal(icon.headers.location, '/admin/favicon.svg');
    const svg = await httpRequest(daemon.notificationPort, '/admin/favicon.svg');
    assert.equal(svg.status, 200);
    assert.match(svg.body, /^<svg /);
  } finally {
    await daemon.stop();
  }
});
