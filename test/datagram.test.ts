// Peer datagrams: packing under 1,200 bytes, round trips, the tag, and a decoder that refuses every kind of
// bad input with a reason and never throws.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  DatagramEncoder, MAX_CONNECTIONS, MAX_DATAGRAM_BYTES, MAX_MEMBERS, decodeDatagram,
  type Datagram, type NodeCount, type WireExclusion,
} from '../src/protocol/datagram.js';
import { ENDED, type WireSession } from '../src/protocol/wire-sessions.js';

const NODE = { id: '0123456789abcdef', incarnation: 1_795_000_000_000 };
const SECRET = 'a cluster secret of some length';

function decoded(buffer: Buffer, secret?: string): Datagram {
  const result = decodeDatagram(buffer, secret);
  assert.ok(result.ok, result.ok ? '' : `${result.reason}: ${result.detail}`);
  return result.datagram;
}

function reasonFor(buffer: Buffer, secret?: string): string {
  const result = decodeDatagram(buffer, secret);
  assert.equal(result.ok, false, 'expected the datagram to be refused');
  return result.ok ? '' : result.reason;
}

/** A hand-made datagram: header fields overridable, then `body` as given. */
function raw({ magic = 0x414d, version = 1, kind = 1, flags = 0, incarnation = 5, seq = 1 } = {}, body: number[] | Buffer = [0, 0]): Buffer {
  const header = Buffer.alloc(25);
  header.writeUInt16BE(magic, 0);
  header.writeUInt8(version, 2);
  header.writeUInt8(kind, 3);
  header.writeUInt8(flags, 4);
  Buffer.from(NODE.id, 'hex').copy(header, 5);
  header.writeUIntBE(incarnation, 13, 6);
  header.writeUIntBE(seq, 19, 6);
  return Buffer.concat([header, Buffer.from(body)]);
}

/** One counts entry as bytes: u8 length, name, varuint members, varuint connections (both < 128 here). */
function entryBytes(name: Buffer | string, members = 1, connections = 1): number[] {
  const bytes = Buffer.from(name);
  return [bytes.length, ...bytes, members, connections];
}

function countsOf(datagrams: Buffer[], secret?: string): NodeCount[] {
  return datagrams.flatMap((d) => {
    const datagram = decoded(d, secret);
    assert.equal(datagram.kind, 'counts');
    return datagram.kind === 'counts' ? datagram.entries : [];
  });
}

test('10,000 counts pack into datagrams of at most 1,200 bytes and come back whole, in sequence', () => {
  const entries: NodeCount[] = Array.from({ length: 10_000 }, (_, i) => [`event-${i}`, i % 300, i * 1000]);
  for (const secret of [undefined, SECRET]) {
    const encoder = new DatagramEncoder(NODE, secret);
    const datagrams = encoder.counts(entries);
    assert.ok(datagrams.length > 1);
    for (const d of datagrams) assert.ok(d.length <= MAX_DATAGRAM_BYTES, `${d.length} bytes`);
    assert.deepEqual(countsOf(datagrams, secret), entries);
    assert.deepEqual(datagrams.map((d) => decoded(d, secret).header), datagrams.map((_, i) => ({ node: NODE.id, incarnation: NODE.incarnation, seq: i + 1 })));
  }
});

test('names of 200 bytes (multi-byte UTF-8 too) and the largest counts fit', () => {
  const long = 'é'.repeat(100); // 200 bytes
  const entries: NodeCount[] = [[long, MAX_MEMBERS, MAX_CONNECTIONS], ['x'.repeat(200), 0, 1], ['ä'.repeat(99) + 'z', 7, 7]];
  const datagrams = new DatagramEncoder(NODE, SECRET).counts(entries);
  assert.deepEqual(countsOf(datagrams, SECRET), entries);
});

test('counts beyond the caps are sent clamped, and names no peer would accept are left out', () => {
  const datagrams = new DatagramEncoder(NODE, undefined).counts([['ok', MAX_MEMBERS + 5, 3], ['y'.repeat(201), 1, 1], ['', 1, 1]]);
  assert.deepEqual(countsOf(datagrams), [['ok', MAX_MEMBERS, 3]]);
});

test('an idle node still sends one (empty) counts datagram: its heartbeat', () => {
  const datagrams = new DatagramEncoder(NODE, undefined).counts([]);
  assert.equal(datagrams.length, 1);
  assert.deepEqual(countsOf(datagrams), []);
});

test('goodbye, notification and exclusions round-trip', () => {
  const encoder = new DatagramEncoder(NODE, SECRET);
  assert.equal(decoded(encoder.goodbye(), SECRET).kind, 'goodbye');
  const notification = decoded(encoder.notification('café live', 'chat=hello%20world')!, SECRET);
  assert.deepEqual(notification.kind === 'notification' && [notification.ns, notification.data], ['café live', 'chat=hello%20world']);
  const exclusions: WireExclusion[] = Array.from({ length: 200 }, (_, i) => ({ uuid: `user-${i}-${'u'.repeat(i % 150)}`, at: 1_795_000_000_000 + i, plain: i % 7 === 0 }));
  const datagrams = encoder.exclusions(exclusions);
  assert.ok(datagrams.length > 1);
  assert.deepEqual(datagrams.flatMap((d) => {
    const datagram = decoded(d, SECRET);
    return datagram.kind === 'exclusions' ? datagram.exclusions : [];
  }), exclusions);
});

test('the admin port round-trips, 0 (no admin port) and 65535 included', () => {
  for (const secret of [undefined, SECRET]) {
    const encoder = new DatagramEncoder(NODE, secret);
    for (const port of [2442, 0, 65535]) {
      const datagram = decoded(encoder.admin(port), secret);
      assert.deepEqual(datagram.kind === 'admin' && datagram.port, port);
    }
  }
});

/** A session id as the daemon makes them: 16 random bytes in base64url. */
function sessionId(): string {
  return randomBytes(16).toString('base64url');
}

function userKey(): string {
  return randomBytes(8).toString('hex');
}

function sessionsOf(datagrams: Buffer[], secret?: string): WireSession[] {
  return datagrams.flatMap((d) => {
    const datagram = decoded(d, secret);
    assert.equal(datagram.kind, 'sessions');
    return datagram.kind === 'sessions' ? datagram.sessions : [];
  });
}

test('sessions: thousands, in many namespaces, are grouped by namespace under 1,200 bytes and come back whole', () => {
  const names = ['ev', 'é'.repeat(100), 'x'.repeat(200), ...Array.from({ length: 50 }, (_, i) => `room-${i}`)];
  const sessions: WireSession[] = Array.from({ length: 5000 }, (_, i) => ({
    ns: names[i % 7 === 0 ? i % names.length : i % 3]!, user: userKey(), session: sessionId(), at: i % 11 === 0 ? ENDED : 1_795_000_000_000 + i,
  }));
  // What comes back is grouped by namespace, in the order each namespace first appeared.
  const grouped = [...new Set(sessions.map((s) => s.ns))].flatMap((ns) => sessions.filter((s) => s.ns === ns));
  for (const secret of [undefined, SECRET]) {
    const datagrams = new DatagramEncoder(NODE, secret).sessions(sessions);
    for (const d of datagrams) assert.ok(d.length <= MAX_DATAGRAM_BYTES, `${d.length} bytes`);
    assert.ok(datagrams.length < 5000 / 30, `${datagrams.length} datagrams: about 30 bytes a session`);
    assert.deepEqual(sessionsOf(datagrams, secret), grouped);
  }
  assert.deepEqual(new DatagramEncoder(NODE, undefined).sessions([]), [], 'nothing to tell, no datagram');
});

test('sessions the wire cannot carry are left out: another id shape, a bad user key or name', () => {
  const good: WireSession = { ns: 'ev', user: userKey(), session: sessionId(), at: 5 };
  const datagrams = new DatagramEncoder(NODE, undefined).sessions([
    // Too short, too long, not base64url, and the same 16 bytes spelt another way (unused low bits set).
    good, { ...good, session: 'not-a-session-id' }, { ...good, session: `${good.session}A` }, { ...good, session: `${'a'.repeat(21)}+` },
    { ...good, session: `${'A'.repeat(21)}B` },
    { ...good, user: 'u-1' }, { ...good, ns: '' }, { ...good, ns: 'n'.repeat(201) }, { ...good, at: -1 },
  ]);
  assert.deepEqual(sessionsOf(datagrams), [good]);
});

test('expelled session ids round-trip; ids of another shape are left out', () => {
  const ids = Array.from({ length: 200 }, sessionId);
  const encoder = new DatagramEncoder(NODE, SECRET);
  const datagrams = encoder.expelled([...ids, 'not one of ours']);
  assert.ok(datagrams.length > 1);
  assert.deepEqual(datagrams.flatMap((d) => {
    const datagram = decoded(d, SECRET);
    return datagram.kind === 'expelled' ? datagram.sessions : [];
  }), ids);
  assert.deepEqual(encoder.expelled([]), []);
});

test('a notification fits up to maxNotificationBytes and is refused beyond', () => {
  for (const secret of [undefined, SECRET]) {
    const encoder = new DatagramEncoder(NODE, secret);
    const ns = 'n'.repeat(200);
    const max = encoder.maxNotificationBytes(ns);
    assert.ok(max > 800, `room for ${max} bytes`);
    const fits = encoder.notification(ns, 's='.padEnd(max, 'm'))!;
    assert.equal(fits.length, MAX_DATAGRAM_BYTES);
    assert.equal(decoded(fits, secret).kind, 'notification');
    assert.equal(encoder.notification(ns, 's='.padEnd(max + 1, 'm')), undefined);
  }
});

test('the tag: required with a secret, refused without one, and any changed byte fails it', () => {
  const signed = new DatagramEncoder(NODE, SECRET).counts([['ev', 3, 4]])[0]!;
  const unsigned = new DatagramEncoder(NODE, undefined).counts([['ev', 3, 4]])[0]!;
  assert.equal(reasonFor(unsigned, SECRET), 'unauthenticated');
  assert.equal(reasonFor(signed, undefined), 'unexpected tag');
  assert.equal(reasonFor(new DatagramEncoder(NODE, 'another secret, same length!!').counts([['ev', 3, 4]])[0]!, SECRET), 'bad tag');
  for (let i = 0; i < signed.length; i++) {
    const changed = Buffer.from(signed);
    changed[i] ^= 0x01;
    assert.equal(decodeDatagram(changed, SECRET).ok, false, `byte ${i} changed`);
  }
  // A forged flag cannot turn an unsigned datagram into an accepted one.
  const flagged = Buffer.concat([unsigned, Buffer.alloc(32)]);
  flagged[4] = 1;
  assert.equal(reasonFor(flagged, SECRET), 'bad tag');
});

test('each kind of bad datagram is refused with its reason', () => {
  const cases: [string, Buffer, string][] = [
    ['empty', Buffer.alloc(0), 'truncated'],
    ['shorter than a header', raw().subarray(0, 20), 'truncated'],
    ['another protocol', raw({ magic: 0x1234 }), 'not ours'],
    ['a future version', raw({ version: 2 }), 'unsupported version'],
    ['an unknown kind', raw({ kind: 9 }), 'unknown kind'],
    ['unknown flags', raw({ flags: 0x80 }), 'unknown flags'],
    ['incarnation 0', raw({ incarnation: 0 }), 'bad header'],
    ['sequence 0', raw({ seq: 0 }), 'bad header'],
    ['no entry count', raw({}, []), 'truncated'],
    ['fewer entries than announced', raw({}, [0, 2, ...entryBytes('a')]), 'truncated'],
    ['a cut entry', raw({}, [0, 1, 5, 0x61, 0x62]), 'truncated'],
    ['bytes after the last entry', raw({}, [0, 1, ...entryBytes('a'), 0]), 'trailing bytes'],
    ['an empty name', raw({}, [0, 1, ...entryBytes('')]), 'bad name'],
    ['a 201-byte name', raw({}, [0, 1, ...entryBytes('n'.repeat(201))]), 'bad name'],
    ['a control character', raw({}, [0, 1, ...entryBytes('a\nb')]), 'bad name'],
    ['invalid UTF-8', raw({}, [0, 1, ...entryBytes(Buffer.from([0x61, 0xff, 0xfe]))]), 'invalid UTF-8'],
    ['absurd members', raw({}, [0, 1, 1, 0x61, 0x80, 0x80, 0x80, 0x80, 0x01, 1]), 'absurd count'],
    ['an overlong number', raw({}, [0, 1, 1, 0x61, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1]), 'overlong number'],
    ['a goodbye with a body', raw({ kind: 2 }, [0]), 'trailing bytes'],
    ['an empty notification', raw({ kind: 3 }, [1, 0x61, 0, 0]), 'bad notification'],
    ['a notification with a line break', raw({ kind: 3 }, [1, 0x61, 0, 3, 0x61, 0x0a, 0x62]), 'bad notification'],
    ['a notification longer than its datagram', raw({ kind: 3 }, [1, 0x61, 0xff, 0xff, 0x61]), 'truncated'],
    ['an exclusion with a bad plain flag', raw({ kind: 4 }, [0, 1, 1, 0x75, 0, 0, 0, 0, 0, 1, 2]), 'bad exclusion'],
    ['an admin port cut short', raw({ kind: 7 }, [0x09]), 'truncated'],
    ['bytes after the admin port', raw({ kind: 7 }, [0x09, 0x8a, 0]), 'trailing bytes'],
    ['a sessions group cut short', raw({ kind: 5 }, [0, 1, 2, 0x65, 0x76, 0, 1, ...Buffer.alloc(29)]), 'truncated'],
    ['a sessions group with a bad name', raw({ kind: 5 }, [0, 1, 1, 0x0a, 0, 0]), 'bad name'],
    ['bytes after the last session', raw({ kind: 5 }, [0, 1, 2, 0x65, 0x76, 0, 1, ...Buffer.alloc(30), 0]), 'trailing bytes'],
    ['an expelled id cut short', raw({ kind: 6 }, [0, 1, ...Buffer.alloc(15)]), 'truncated'],
    ['over 1,200 bytes', raw({}, Buffer.alloc(1200)), 'oversized'],
  ];
  for (const [what, buffer, reason] of cases) assert.equal(reasonFor(buffer), reason, what);
  assert.equal(decoded(raw({ kind: 2 }, [])).kind, 'goodbye', 'the well-formed twin of these is accepted');
});

test('fuzz: thousands of random and mutated datagrams never throw, and what passes is valid', () => {
  const encoder = new DatagramEncoder(NODE, undefined);
  const seeds = [
    ...encoder.counts(Array.from({ length: 60 }, (_, i): NodeCount => [`ns-${i}-é`, i, i * 300])),
    encoder.goodbye(),
    encoder.notification('ev', 'chat=hi')!,
    encoder.admin(2442),
    ...encoder.exclusions([{ uuid: 'u-1', at: 1_795_000_000_000, plain: false }, { uuid: 'u-2', at: 5, plain: true }]),
    ...encoder.sessions(Array.from({ length: 50 }, (_, i): WireSession => ({ ns: `ns-${i % 4}`, user: userKey(), session: sessionId(), at: i }))),
    ...encoder.expelled([sessionId(), sessionId()]),
  ];
  const signedSeeds = new DatagramEncoder(NODE, SECRET).counts([['ev', 1, 2], ['other', 3, 4]]);
  let accepted = 0;
  let refused = 0;
  const check = (buffer: Buffer, secret?: string): void => {
    const result = decodeDatagram(buffer, secret);
    if (!result.ok) {
      assert.equal(typeof result.reason, 'string');
      refused++;
      return;
    }
    accepted++;
    const datagram = result.datagram;
    if (datagram.kind === 'counts') {
      for (const [ns, members, connections] of datagram.entries) {
        assert.ok(Buffer.byteLength(ns) >= 1 && Buffer.byteLength(ns) <= 200);
        assert.ok(Number.isSafeInteger(members) && members >= 0 && members <= MAX_MEMBERS);
        assert.ok(Number.isSafeInteger(connections) && connections >= 0 && connections <= MAX_CONNECTIONS);
      }
    }
    if (datagram.kind === 'sessions') {
      for (const { ns, user, session, at } of datagram.sessions) {
        assert.ok(Buffer.byteLength(ns) >= 1 && Buffer.byteLength(ns) <= 200);
        assert.match(user, /^[0-9a-f]{16}$/);
        assert.match(session, /^[A-Za-z0-9_-]{22}$/);
        assert.ok(Number.isSafeInteger(at) && at >= 0);
      }
    }
    if (datagram.kind === 'expelled') for (const session of datagram.sessions) assert.match(session, /^[A-Za-z0-9_-]{22}$/);
  };
  for (let i = 0; i < 3000; i++) check(randomBytes(Math.floor(Math.random() * 1300)));
  for (let i = 0; i < 3000; i++) check(Buffer.concat([raw().subarray(0, 5), randomBytes(Math.floor(Math.random() * 300))]));
  for (let i = 0; i < 6000; i++) {
    const seed = seeds[i % seeds.length]!;
    const mutated = Buffer.from(seed);
    for (let flips = 1 + Math.floor(Math.random() * 4); flips > 0; flips--) mutated[Math.floor(Math.random() * mutated.length)] = Math.floor(Math.random() * 256);
    const cut = Math.random() < 0.3 ? mutated.subarray(0, Math.floor(Math.random() * mutated.length)) : mutated;
    check(Math.random() < 0.1 ? Buffer.concat([cut, randomBytes(Math.floor(Math.random() * 40))]) : cut);
  }
  for (let i = 0; i < 2000; i++) {
    const mutated = Buffer.from(signedSeeds[0]!);
    mutated[Math.floor(Math.random() * mutated.length)] ^= 1 + Math.floor(Math.random() * 255);
    assert.equal(decodeDatagram(mutated, SECRET).ok, false, 'no mutation of a signed datagram passes the tag');
  }
  assert.ok(accepted > 0 && refused > 0, `both outcomes seen (accepted ${accepted}, refused ${refused})`);
});
