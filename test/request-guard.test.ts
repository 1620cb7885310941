// The admin port's Host and cross-site rules as pure functions (the daemon tests are in admin-guard.test.ts):
// which Host values name the port for each binding, and how Sec-Fetch-Site and Origin are judged.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { crossSiteChecker, hostChecker } from '../src/primary/admin/request-guard.js';

const request = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;

test('Host: loopback names, the bound address (any address when bound to a wildcard), --admin-hosts', () => {
  const loopback = hostChecker({ boundHost: '127.0.0.1', adminHosts: ['admin.example.org'] });
  for (const host of ['localhost', 'LOCALHOST:2442', 'x.localhost', '127.0.0.1:2442', '127.9.9.9', '[::1]', '[::1]:80', 'admin.example.org', 'Admin.Example.Org:443']) {
    assert.equal(loopback(request({ host })), undefined, host);
  }
  assert.equal(loopback(request({})), undefined, 'no Host: no browser');
  for (const host of ['attacker.example', '10.0.0.5', '[2001:db8::1]', 'example.org', 'localhost.attacker.example', 'admin.example.org.attacker.example']) {
    assert.match(loopback(request({ host }))!, /is not a name of this admin port/, host);
  }
  for (const host of ['', 'a b', 'user@localhost', 'localhost/x', '[::1', 'localhost:port']) assert.equal(loopback(request({ host })), 'malformed Host header', host);

  const wildcard = hostChecker({ boundHost: '0.0.0.0', adminHosts: [] });
  for (const host of ['10.0.0.5:2442', '[2001:db8::1]:2442', 'localhost']) assert.equal(wildcard(request({ host })), undefined, host);
  assert.match(wildcard(request({ host: 'attacker.example' }))!, /not a name/);

  const named = hostChecker({ boundHost: 'admin-box.lan', adminHosts: [] });
  assert.equal(named(request({ host: 'admin-box.lan:2442' })), undefined);
  assert.match(named(request({ host: '10.0.0.5' }))!, /not a name/);
});

test('cross-site: Sec-Fetch-Site decides when sent; else Origin must be this port or an operator name', () => {
  const check = crossSiteChecker({ boundHost: '127.0.0.1', adminHosts: ['admin.example.org'] });
  assert.equal(check(request({ host: '127.0.0.1:2442' })), undefined, 'curl');
  for (const site of ['same-origin', 'none']) assert.equal(check(request({ host: '127.0.0.1:2442', 'sec-fetch-site': site })), undefined, site);
  for (const site of ['cross-site', 'same-site', 'bogus']) assert.match(check(request({ host: '127.0.0.1:2442', 'sec-fetch-site': site }))!, /cross-site request refused/, site);
  // A proxy that rewrote Host: the browser's own verdict still holds.
  assert.equal(check(request({ host: '127.0.0.1:2442', origin: 'https://elsewhere.example', 'sec-fetch-site': 'same-origin' })), undefined);
  assert.match(check(request({ host: '127.0.0.1:2442', origin: 'https://admin.example.org', 'sec-fetch-site': 'cross-site' }))!, /Sec-Fetch-Site/);
  assert.equal(check(request({ host: '127.0.0.1:2442', origin: 'http://127.0.0.1:2442' })), undefined);
  assert.equal(check(request({ host: '127.0.0.1:2442', origin: 'https://admin.example.org' })), undefined);
  for (const origin of ['http://127.0.0.1:8080', 'http://localhost:2442', 'http://attacker.example', 'null', 'not a url', 'file://']) {
    assert.match(check(request({ host: '127.0.0.1:2442', origin }))!, /^cross-site request refused \(Origin /, origin);
  }
});
