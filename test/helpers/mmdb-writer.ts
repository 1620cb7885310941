// A minimal MaxMind DB (.mmdb) writer for tests: no well-kept MIT writer exists on npm, and the format is
// small. It writes an IPv4-only database (ip_version 4, 24-bit records) mapping a few networks to records,
// which the `maxmind` reader opens like a real GeoLite2-Country file. Format: the MaxMind DB spec 2.0 —
//   search tree (one node = two 3-byte records: left for a 0 bit, right for a 1 bit; a record below the node
//   count points to a node, equal means "not found", above points into the data section at
//   record - node_count - 16) | 16 zero bytes | data section | "\xAB\xCD\xEFMaxMind.com" | metadata map.
// Data values: a control byte (type in the top 3 bits, 0 = extended type in the next byte; size in the low 5).
import { writeFileSync } from 'node:fs';

type Value = string | number | boolean | Value[] | { [key: string]: Value };

function control(type: number, size: number): Buffer {
  const extended = type > 7;
  const head = [(extended ? 0 : type) << 5];
  const tail: number[] = [];
  if (size < 29) head[0]! |= size;
  else if (size < 285) { head[0]! |= 29; tail.push(size - 29); }
  else { head[0]! |= 30; tail.push((size - 285) >> 8, (size - 285) & 0xff); }
  if (extended) head.push(type - 7);
  return Buffer.from([...head, ...tail]);
}

function unsigned(type: number, value: number | bigint, maxBytes: number): Buffer {
  const bytes: number[] = [];
  let n = BigInt(value);
  while (n > 0n && bytes.length < maxBytes) { bytes.unshift(Number(n & 0xffn)); n >>= 8n; }
  return Buffer.concat([control(type, bytes.length), Buffer.from(bytes)]);
}

export function encodeValue(value: Value): Buffer {
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([control(2, bytes.length), bytes]);
  }
  if (typeof value === 'boolean') return control(14, value ? 1 : 0);
  if (typeof value === 'number') return unsigned(6, value, 4); // uint32
  if (Array.isArray(value)) return Buffer.concat([control(11, value.length), ...value.map(encodeValue)]);
  const entries = Object.entries(value);
  return Buffer.concat([control(7, entries.length), ...entries.flatMap(([k, v]) => [encodeValue(k), encodeValue(v)])]);
}

type Child = { node: number } | { data: number } | null;

/** Writes `networks` ("a.b.c.d/len" → record) as an IPv4 MaxMind DB file at `path`. */
export function writeMmdb(path: string, networks: Record<string, Value>, databaseType = 'Test-Country'): void {
  const nodes: [Child, Child][] = [[null, null]];
  const data: Buffer[] = [];
  let dataLength = 0;
  for (const [cidr, record] of Object.entries(networks)) {
    const [address, lengthText] = cidr.split('/') as [string, string];
    const prefix = Number(lengthText);
    const bits = address.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
    const encoded = encodeValue(record);
    const offset = dataLength;
    data.push(encoded);
    dataLength += encoded.length;
    let node = 0;
    for (let depth = 0; depth < prefix; depth++) {
      const bit = Number((bits >> BigInt(31 - depth)) & 1n);
      if (depth === prefix - 1) { nodes[node]![bit] = { data: offset }; break; }
      const child = nodes[node]![bit];
      if (child && 'node' in child) { node = child.node; continue; }
      nodes.push([null, null]);
      nodes[node]![bit] = { node: nodes.length - 1 };
      node = nodes.length - 1;
    }
  }
  const nodeCount = nodes.length;
  const recordValue = (child: Child): number => (child === null ? nodeCount : 'node' in child ? child.node : nodeCount + 16 + child.data);
  const tree = Buffer.alloc(nodeCount * 6);
  nodes.forEach(([left, right], i) => {
    tree.writeUIntBE(recordValue(left), i * 6, 3);
    tree.writeUIntBE(recordValue(right), i * 6 + 3, 3);
  });
  const metadata = Buffer.concat([
    control(7, 9),
    encodeValue('node_count'), unsigned(6, nodeCount, 4),
    encodeValue('record_size'), unsigned(5, 24, 2),
    encodeValue('ip_version'), unsigned(5, 4, 2),
    encodeValue('database_type'), encodeValue(databaseType),
    encodeValue('languages'), encodeValue(['en']),
    encodeValue('binary_format_major_version'), unsigned(5, 2, 2),
    encodeValue('binary_format_minor_version'), unsigned(5, 0, 2),
    encodeValue('build_epoch'), unsigned(9, Math.floor(Date.now() / 1000), 8),
    encodeValue('description'), encodeValue({ en: 'audience-meter test database' }),
  ]);
  writeFileSync(path, Buffer.concat([tree, Buffer.alloc(16), ...data, Buffer.from('\xAB\xCD\xEFMaxMind.com', 'latin1'), metadata]));
}
