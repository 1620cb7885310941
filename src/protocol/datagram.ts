// Peer datagrams: what nodes of one cluster (`-m ip:port`) tell each other over UDP multicast. Binary and
// versioned; every datagram fits in MAX_DATAGRAM_BYTES of UDP payload, under any path MTU in use, so none
// is ever fragmented. Counts are absolute (DESIGN principle 1): a lost datagram heals at the next round.
//
// Version 1, all integers big-endian (README, "Several servers", documents the same layout):
//
//   offset  size  field
//        0     2  magic "AM" (0x41 0x4D)
//        2     1  version: 1
//        3     1  kind: 1 counts, 2 goodbye, 3 notification, 4 exclusions, 5 sessions, 6 expelled, 7 admin
//        4     1  flags: bit 0 = a 32-byte tag ends the datagram; other bits are 0
//        5     8  node id: stable across restarts of the same node
//       13     6  incarnation: ms since the epoch when the node started; a newer one replaces the older
//       19     6  sequence: 1, 2, 3… within an incarnation, one per datagram of any kind
//       25     …  body
//   end-32    32  tag (flag bit 0): HMAC-SHA256 with --cluster-secret over every byte before it
//
// Bodies:
//   counts        u16 n; n × { u8 length, namespace (UTF-8, 1..200 bytes), varuint members, varuint connections }
//   goodbye       empty: the node stops; drop its counts now
//   notification  u8 length, namespace; u16 length, data (UTF-8): `data: <data>` for the namespace's viewers
//   exclusions    u16 n; n × { u8 length, uuid (UTF-8, 1..200 bytes), u48 at (ms since the epoch), u8 plain }
//   sessions      u16 n; n × { u8 length, namespace, u16 m; m × { 16 bytes session id, 8 bytes user key,
//                 u48 entry time (ms since the epoch; 0: the session ended) } }: identified sessions (wire-sessions.ts)
//   expelled      u16 n; n × 16 bytes session id: sessions the node expelled (device limit)
//   admin         u16 port: this node's admin (notification) port, reached at the datagram's source address; 0 for none
//
// varuint is unsigned LEB128 (7 bits per byte, low bits first, high bit = more), at most 7 bytes.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ByteReader, ByteWriter, MalformedBytes, varuintSize } from './bytes.js';
import { CONTROL_CHARACTER, MAX_NAME_BYTES, nameProblem } from './namespace.js';
import {
  WIRE_SESSION_BYTES, readSession, readSessionId, sendableByNamespace, sessionIdBytes, writeSession, type WireSession,
} from './wire-sessions.js';

export const DATAGRAM_VERSION = 1;
/** Whole UDP payload, header and tag included: below the 1,280-byte IPv6 minimum MTU, with room for headers. */
export const MAX_DATAGRAM_BYTES = 1200;
export const NODE_ID_BYTES = 8;
/** One node cannot hold more viewers than this; a larger count is forged or corrupt. */
export const MAX_MEMBERS = 10_000_000;
/** Joins counted since a namespace was created on a node: anything above this is corrupt. */
export const MAX_CONNECTIONS = 2 ** 48 - 1;

const MAGIC = 0x414d;
const HEADER_BYTES = 25;
const SEQUENCE_OFFSET = 19;
const TAG_BYTES = 32;
const FLAG_TAGGED = 0x01;
const KIND_CODES = { counts: 1, goodbye: 2, notification: 3, exclusions: 4, sessions: 5, expelled: 6, admin: 7 } as const;

export type DatagramKind = keyof typeof KIND_CODES;

/** [namespace, members the node holds now, viewers it counted since the namespace was created there] */
export type NodeCount = [ns: string, members: number, connections: number];

/** A uuid stream opened (or a plain request to /{ns}/{uuid}, `plain`) at `at` ms on the sending node. */
export interface WireExclusion {
  uuid: string;
  at: number;
  plain: boolean;
}

export interface DatagramHeader {
  /** 16 hex digits */
  node: string;
  incarnation: number;
  seq: number;
}

export type Datagram = { header: DatagramHeader } & (
  | { kind: 'counts'; entries: NodeCount[] }
  | { kind: 'goodbye' }
  | { kind: 'notification'; ns: string; data: string }
  | { kind: 'exclusions'; exclusions: WireExclusion[] }
  | { kind: 'sessions'; sessions: WireSession[] }
  | { kind: 'expelled'; sessions: string[] }
  | { kind: 'admin'; port: number }
);

export type DecodeResult = { ok: true; datagram: Datagram } | { ok: false; reason: string; detail: string };

export interface NodeIdentity {
  /** 16 hex digits */
  id: string;
  incarnation: number;
}

/** Builds this node's datagrams, numbering and (with a secret) signing each one. */
export class DatagramEncoder {
  private seq = 0;
  private readonly nodeBytes: Buffer;

  constructor(readonly identity: NodeIdentity, private readonly secret: string | undefined) {
    this.nodeBytes = Buffer.from(identity.id, 'hex');
    if (this.nodeBytes.length !== NODE_ID_BYTES) throw new Error(`node id must be ${NODE_ID_BYTES * 2} hex digits`);
  }

  /**
   * Every entry, packed into as few datagrams as fit; always at least one, so an idle node still says it
   * lives. A name no receiver would accept (over 200 bytes) is left out rather than sent to be dropped.
   */
  counts(entries: Iterable<NodeCount>): Buffer[] {
    return this.pack('counts', entries, countSize, (writer, [ns, members, connections]) => {
      writer.shortString(ns);
      writer.varuint(clamp(members, MAX_MEMBERS));
      writer.varuint(clamp(connections, MAX_CONNECTIONS));
    });
  }

  exclusions(exclusions: Iterable<WireExclusion>): Buffer[] {
    return this.pack('exclusions', exclusions, exclusionSize, (writer, { uuid, at, plain }) => {
      writer.shortString(uuid);
      writer.u48(at);
      writer.u8(plain ? 1 : 0);
    });
  }

  /**
   * Identified sessions, grouped by namespace so that a name is sent once per datagram rather than once per
   * session; a group that does not fit is continued in the next datagram. Nothing to send: no datagram.
   */
  sessions(sessions: Iterable<WireSession>): Buffer[] {
    const datagrams: Buffer[] = [];
    const capacity = MAX_DATAGRAM_BYTES - this.tagBytes;
    let writer: ByteWriter | undefined;
    let groups = 0;
    for (const [ns, group] of sendableByNamespace(sessions)) {
      /** Where this group's u16 count sits in the current datagram; -1 before the group starts there. */
      let countAt = -1;
      let count = 0;
      for (const session of group) {
        if (writer && writer.offset + (countAt === -1 ? 1 + Buffer.byteLength(ns) + 2 : 0) + WIRE_SESSION_BYTES > capacity) {
          if (countAt !== -1) writer.buffer.writeUInt16BE(count, countAt);
          datagrams.push(this.finishCounted(writer, groups));
          writer = undefined;
          countAt = -1;
        }
        if (!writer) {
          writer = this.start('sessions');
          writer.u16(0);
          groups = 0;
        }
        if (countAt === -1) {
          writer.shortString(ns);
          countAt = writer.offset;
          writer.u16(0);
          count = 0;
          groups++;
        }
        writeSession(writer, session);
        count++;
      }
      writer!.buffer.writeUInt16BE(count, countAt);
    }
    if (writer) datagrams.push(this.finishCounted(writer, groups));
    return datagrams;
  }

  /** Session ids that are not the daemon's are left out; nothing to send: no datagram. */
  expelled(sessions: readonly string[]): Buffer[] {
    const ids = sessions.flatMap((session) => sessionIdBytes(session) ?? []);
    if (ids.length === 0) return [];
    return this.pack('expelled', ids, (id) => id.length, (writer, id) => writer.bytes(id));
  }

  goodbye(): Buffer {
    const writer = this.start('goodbye');
    return this.finish(writer);
  }

  /** Where this node's admin API listens (0: nowhere), so peers can forward admin requests to it. */
  admin(port: number): Buffer {
    const writer = this.start('admin');
    writer.u16(port);
    return this.finish(writer);
  }

  /** Undefined when namespace and data do not fit in one datagram. */
  notification(ns: string, data: string): Buffer | undefined {
    if (Buffer.byteLength(ns) > MAX_NAME_BYTES || Buffer.byteLength(data) > this.maxNotificationBytes(ns)) return undefined;
    const writer = this.start('notification');
    writer.shortString(ns);
    writer.string(data);
    return this.finish(writer);
  }

  /** The longest notification data (UTF-8 bytes) that fits with this namespace. */
  maxNotificationBytes(ns: string): number {
    return MAX_DATAGRAM_BYTES - HEADER_BYTES - 1 - Buffer.byteLength(ns) - 2 - this.tagBytes;
  }

  private get tagBytes(): number {
    return this.secret === undefined ? 0 : TAG_BYTES;
  }

  /** `sizeOf` returns the bytes an item takes, or undefined for an item that cannot be sent. */
  private pack<T>(kind: DatagramKind, items: Iterable<T>, sizeOf: (item: T) => number | undefined, write: (writer: ByteWriter, item: T) => void): Buffer[] {
    const datagrams: Buffer[] = [];
    const capacity = MAX_DATAGRAM_BYTES - this.tagBytes;
    let writer = this.start(kind);
    let count = 0;
    writer.u16(0);
    for (const item of items) {
      const size = sizeOf(item);
      if (size === undefined) continue;
      if (writer.offset + size > capacity || count === 0xffff) {
        datagrams.push(this.finishCounted(writer, count));
        writer = this.start(kind);
        count = 0;
        writer.u16(0);
      }
      write(writer, item);
      count++;
    }
    datagrams.push(this.finishCounted(writer, count));
    return datagrams;
  }

  private start(kind: DatagramKind): ByteWriter {
    const writer = new ByteWriter(Buffer.allocUnsafe(MAX_DATAGRAM_BYTES));
    writer.u16(MAGIC);
    writer.u8(DATAGRAM_VERSION);
    writer.u8(KIND_CODES[kind]);
    writer.u8(this.secret === undefined ? 0 : FLAG_TAGGED);
    writer.bytes(this.nodeBytes);
    writer.u48(this.identity.incarnation);
    writer.u48(0); // the sequence number, set by finish() so numbers follow the order datagrams are made in
    return writer;
  }

  private finishCounted(writer: ByteWriter, count: number): Buffer {
    writer.buffer.writeUInt16BE(count, HEADER_BYTES);
    return this.finish(writer);
  }

  private finish(writer: ByteWriter): Buffer {
    writer.buffer.writeUIntBE(++this.seq, SEQUENCE_OFFSET, 6);
    if (this.secret !== undefined) writer.bytes(tagOf(this.secret, writer.buffer.subarray(0, writer.offset)));
    return Buffer.from(writer.buffer.subarray(0, writer.offset));
  }
}

function countSize([ns, members, connections]: NodeCount): number | undefined {
  const nameBytes = Buffer.byteLength(ns);
  if (nameBytes === 0 || nameBytes > MAX_NAME_BYTES) return undefined;
  return 1 + nameBytes + varuintSize(clamp(members, MAX_MEMBERS)) + varuintSize(clamp(connections, MAX_CONNECTIONS));
}

/** A count as the wire can carry it: a whole number from 0 to `max`, whatever a bug upstream produced. */
function clamp(count: number, max: number): number {
  return Number.isFinite(count) ? Math.min(Math.max(0, Math.floor(count)), max) : 0;
}

function exclusionSize({ uuid }: WireExclusion): number | undefined {
  const nameBytes = Buffer.byteLength(uuid);
  if (nameBytes === 0 || nameBytes > MAX_NAME_BYTES) return undefined;
  return 1 + nameBytes + 6 + 1;
}

function tagOf(secret: string, signed: Buffer): Buffer {
  return createHmac('sha256', secret).update(signed).digest();
}

/**
 * Checks everything about a datagram (shape, tag, names, counts) and returns it, or why it must be dropped.
 * Never throws, whatever the bytes.
 */
export function decodeDatagram(buffer: Buffer, secret: string | undefined): DecodeResult {
  try {
    return { ok: true, datagram: decode(buffer, secret) };
  } catch (error) {
    if (error instanceof MalformedBytes) return { ok: false, reason: error.reason, detail: error.message };
    throw error;
  }
}

function decode(buffer: Buffer, secret: string | undefined): Datagram {
  if (buffer.length > MAX_DATAGRAM_BYTES) throw new MalformedBytes('oversized', `${buffer.length} bytes`);
  if (buffer.length < HEADER_BYTES) throw new MalformedBytes('truncated', `${buffer.length} bytes is shorter than a header`);
  if (buffer.readUInt16BE(0) !== MAGIC) throw new MalformedBytes('not ours', 'no audience-meter magic');
  const version = buffer.readUInt8(2);
  if (version !== DATAGRAM_VERSION) throw new MalformedBytes('unsupported version', `version ${version}, this node speaks ${DATAGRAM_VERSION}`);
  const flags = buffer.readUInt8(4);
  if ((flags & ~FLAG_TAGGED) !== 0) throw new MalformedBytes('unknown flags', `flags 0x${flags.toString(16)}`);
  const end = checkTag(buffer, (flags & FLAG_TAGGED) !== 0, secret);

  // The header's length was checked above, and the tag lies after it.
  const kindCode = buffer.readUInt8(3);
  const header: DatagramHeader = {
    node: buffer.toString('hex', 5, 5 + NODE_ID_BYTES),
    incarnation: buffer.readUIntBE(13, 6),
    seq: buffer.readUIntBE(SEQUENCE_OFFSET, 6),
  };
  const reader = new ByteReader(buffer, HEADER_BYTES, end);
  if (header.incarnation === 0 || header.seq === 0) throw new MalformedBytes('bad header', 'incarnation and sequence start at 1');

  let datagram: Datagram;
  switch (kindCode) {
    case KIND_CODES.counts:
      datagram = { header, kind: 'counts', entries: readList(reader, readCount) };
      break;
    case KIND_CODES.goodbye:
      datagram = { header, kind: 'goodbye' };
      break;
    case KIND_CODES.notification:
      datagram = { header, kind: 'notification', ns: readName(reader, 'namespace'), data: readNotificationData(reader) };
      break;
    case KIND_CODES.exclusions:
      datagram = { header, kind: 'exclusions', exclusions: readList(reader, readExclusion) };
      break;
    case KIND_CODES.sessions:
      datagram = { header, kind: 'sessions', sessions: readList(reader, readSessionGroup).flat() };
      break;
    case KIND_CODES.expelled:
      datagram = { header, kind: 'expelled', sessions: readList(reader, readSessionId) };
      break;
    case KIND_CODES.admin:
      datagram = { header, kind: 'admin', port: reader.u16() };
      break;
    default:
      throw new MalformedBytes('unknown kind', `kind ${kindCode}`);
  }
  reader.expectEnd();
  return datagram;
}

/** Verifies the tag this node's configuration expects and returns where the signed part ends. */
function checkTag(buffer: Buffer, tagged: boolean, secret: string | undefined): number {
  if (secret === undefined) {
    if (tagged) throw new MalformedBytes('unexpected tag', 'signed, but this node has no --cluster-secret');
    return buffer.length;
  }
  if (!tagged) throw new MalformedBytes('unauthenticated', 'no tag, but --cluster-secret is set');
  const end = buffer.length - TAG_BYTES;
  if (end < HEADER_BYTES) throw new MalformedBytes('truncated', 'too short for a tag');
  if (!timingSafeEqual(tagOf(secret, buffer.subarray(0, end)), buffer.subarray(end))) {
    throw new MalformedBytes('bad tag', 'the tag does not match --cluster-secret');
  }
  return end;
}

function readList<T>(reader: ByteReader, readItem: (reader: ByteReader) => T): T[] {
  const count = reader.u16();
  const items: T[] = [];
  for (let i = 0; i < count; i++) items.push(readItem(reader));
  return items;
}

function readCount(reader: ByteReader): NodeCount {
  const ns = readName(reader, 'namespace');
  const members = reader.varuint();
  const connections = reader.varuint();
  if (members > MAX_MEMBERS || connections > MAX_CONNECTIONS) {
    throw new MalformedBytes('absurd count', `${members} members, ${connections} connections in ${JSON.stringify(ns)}`);
  }
  return [ns, members, connections];
}

function readExclusion(reader: ByteReader): WireExclusion {
  const uuid = readName(reader, 'uuid');
  const at = reader.u48();
  const plain = reader.u8();
  if (plain > 1) throw new MalformedBytes('bad exclusion', `plain flag ${plain}`);
  return { uuid, at, plain: plain === 1 };
}

function readSessionGroup(reader: ByteReader): WireSession[] {
  const ns = readName(reader, 'namespace');
  return readList(reader, (r) => readSession(r, ns));
}

function readName(reader: ByteReader, what: string): string {
  const name = reader.shortString();
  const problem = nameProblem(name, what);
  if (problem !== undefined) throw new MalformedBytes('bad name', problem);
  return name;
}

function readNotificationData(reader: ByteReader): string {
  const data = reader.string();
  // The notification port only ever relays URL path segments: no control characters, never empty.
  if (data.length === 0 || CONTROL_CHARACTER.test(data)) throw new MalformedBytes('bad notification', 'empty, or with a control character');
  return data;
}

