// Small pure parts of the attendance log: address truncation, interval arithmetic, option values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { parseAttendanceTarget, parseIpStorage, parseRetentionDays } from '../src/attendance/attendance-options.js';
import { storedIp, truncateIp } from '../src/attendance/ip-privacy.js';
import { coveredMs, peakConcurrent } from '../src/attendance/reports/intervals.js';
import { defaults, InvalidOptionValue } from '../src/options.js';
import { BIN } from './helpers/daemon.js';

test('addresses are truncated to /24 or /48, or kept, or dropped', () => {
  assert.equal(truncateIp('192.0.2.201'), '192.0.2.0');
  assert.equal(truncateIp('::ffff:192.0.2.201'), '192.0.2.0');
  assert.equal(truncateIp('2001:db8:1234:5678::9'), '2001:db8:1234::');
  assert.equal(truncateIp('2001:0DB8:0000:ffff:1:2:3:4'), '2001:db8:0::');
  assert.equal(truncateIp('::1'), '0:0:0::');
  assert.equal(truncateIp('fe80::1%eth0'), 'fe80:0:0::');
  assert.equal(truncateIp('not an address'), null);
  assert.equal(storedIp('192.0.2.201', 'full'), '192.0.2.201');
  assert.equal(storedIp('192.0.2.201', 'none'), null);
  assert.equal(storedIp(null, 'truncated'), null);
});

test('attended time merges overlaps; the peak counts an exit before an entry at the same instant', () => {
  assert.equal(coveredMs([{ start: 0, end: 10 }, { start: 5, end: 20 }, { start: 30, end: 40 }, { start: 32, end: 35 }]), 30);
  assert.equal(coveredMs([{ start: 0, end: 10 }, { start: 10, end: 20 }]), 20);
  assert.equal(coveredMs([]), 0);
  assert.deepEqual(peakConcurrent([{ start: 0, end: 10 }, { start: 10, end: 20 }]), { count: 1, at: 0 });
  assert.deepEqual(peakConcurrent([{ start: 0, end: 10 }, { start: 5, end: 20 }, { start: 6, end: 7 }]), { count: 3, at: 6 });
});

test('--attendance and --ip-storage values', () => {
  assert.deepEqual(parseAttendanceTarget('off'), { kind: 'off' });
  assert.deepEqual(parseAttendanceTarget('/var/lib/am.db'), { kind: 'sqlite', path: '/var/lib/am.db' });
  assert.deepEqual(parseAttendanceTarget('postgresql://u@db/x'), { kind: 'postgres', url: 'postgresql://u@db/x' });
  assert.throws(() => parseAttendanceTarget('mysql://u@db/x'), InvalidOptionValue);
  assert.throws(() => parseAttendanceTarget('postgres://'), InvalidOptionValue);
  assert.equal(parseIpStorage('none'), 'none');
  assert.throws(() => parseIpStorage('half'), /must be one of full, truncated, none/);
});

test('--retention-days: whole days, 0 keeps everything, a year by default; bad values exit 2 with one line', () => {
  assert.equal(defaults.retentionDays, 365);
  assert.equal(parseRetentionDays('0'), 0);
  assert.equal(parseRetentionDays(' 30 '), 30);
  for (const bad of ['-1', '1.5', 'week', '', '36501']) assert.throws(() => parseRetentionDays(bad), /whole number of days from 0 to 36500/);
  for (const [option, value, reason] of [['--retention-days', 'forever', /whole number of days/], ['--attendance-heartbeat', '0', /at least 0.01/]] as const) {
    const result = spawnSync(process.execPath, [BIN, option, value], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(result.status, 2);
    assert.match(result.stderr, reason);
    assert.equal(result.stderr.trim().split('\n').length, 1);
  }
});
