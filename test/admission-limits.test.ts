// The primary's limit verdict (primary/admission-limits.ts): when it changes, what the workers are told,
// and one warning per limit per interval.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdmissionLimits, LIMIT_WARNING_INTERVAL_MS } from '../src/primary/admission-limits.js';

test('the namespace verdict flips at the limit, and the workers hear each flip once', () => {
  const warnings: string[] = [];
  const limits = new AdmissionLimits(3, 0, (line) => warnings.push(line));
  limits.namespaces(2, 0);
  assert.equal(limits.takeChange(), undefined);
  limits.namespaces(3, 1);
  assert.deepEqual(limits.takeChange(), { type: 'limits', namespacesFull: true, fullAddresses: [] });
  assert.equal(limits.takeChange(), undefined);
  limits.namespaces(2, 2);
  assert.deepEqual(limits.takeChange(), { type: 'limits', namespacesFull: false, fullAddresses: [] });
  limits.namespaces(3, 3);
  assert.equal(warnings.length, 1, 'a limit reached again within the interval is not warned again');
  limits.namespaces(2, 4);
  limits.namespaces(3, 1 + LIMIT_WARNING_INTERVAL_MS);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /^3 namespaces reached --max-namespaces 3: new namespaces get 503/);
});

test('addresses at their limit are listed until one of their streams closes; 0 means no limit', () => {
  const limits = new AdmissionLimits(100, 2, () => {});
  limits.address('192.0.2.1', 1, 0);
  assert.equal(limits.takeChange(), undefined);
  limits.address('192.0.2.1', 2, 0);
  limits.address('192.0.2.2', 5, 0);
  assert.deepEqual(limits.takeChange()?.fullAddresses, ['192.0.2.1', '192.0.2.2']);
  limits.address('192.0.2.1', 1, 0);
  assert.deepEqual(limits.current().fullAddresses, ['192.0.2.2'], 'what a new worker is told');
  const off = new AdmissionLimits(100, 0, () => {});
  off.address('192.0.2.1', 1000, 0);
  assert.equal(off.takeChange(), undefined);
});
