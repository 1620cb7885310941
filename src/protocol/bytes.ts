// Bounds-checked reading and writing of the few binary field types peer datagrams use. The reader never
// reads past its end: a short or malformed input raises MalformedBytes, which the datagram decoder turns
// into a drop reason, so nothing from the network can throw past it.

/** Largest value a varuint may carry: 7 bytes × 7 bits. */
export const MAX_VARUINT = 2 ** 49 - 1;
const MAX_VARUINT_BYTES = 7;

export class MalformedBytes extends Error {
  constructor(readonly reason: string, detail: string) {
    super(detail);
  }
}

/** Bytes an unsigned LEB128 encoding of `value` takes. */
export function varuintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

export class ByteWriter {
  offset = 0;

  constructor(readonly buffer: Buffer) {}

  u8(value: number): void {
    this.offset = this.buffer.writeUInt8(value, this.offset);
  }

  u16(value: number): void {
    this.offset = this.buffer.writeUInt16BE(value, this.offset);
  }

  u48(value: number): void {
    this.offset = this.buffer.writeUIntBE(value, this.offset, 6);
  }

  bytes(value: Buffer): void {
    this.offset += value.copy(this.buffer, this.offset);
  }

  /** Unsigned LEB128; arithmetic rather than bit operations, which stop at 32 bits. */
  varuint(value: number): void {
    while (value >= 128) {
      this.u8((value % 128) | 0x80);
      value = Math.floor(value / 128);
    }
    this.u8(value);
  }

  /** A UTF-8 string prefixed by its byte length in one byte (callers keep names under 256 bytes). */
  shortString(value: string): void {
    const length = this.buffer.write(value, this.offset + 1, 'utf8');
    this.u8(length);
    this.offset += length;
  }

  /** A UTF-8 string prefixed by its byte length in two bytes. */
  string(value: string): void {
    const length = this.buffer.write(value, this.offset + 2, 'utf8');
    this.u16(length);
    this.offset += length;
  }
}

// ignoreBOM keeps a leading U+FEFF as part of the name instead of silently dropping it.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class ByteReader {
  offset: number;

  constructor(private readonly buffer: Buffer, start: number, private readonly end: number) {
    this.offset = start;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  u8(): number {
    this.need(1);
    return this.buffer.readUInt8(this.offset++);
  }

  u16(): number {
    this.need(2);
    const value = this.buffer.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  u48(): number {
    this.need(6);
    const value = this.buffer.readUIntBE(this.offset, 6);
    this.offset += 6;
    return value;
  }

  varuint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARUINT_BYTES; i++) {
      const byte = this.u8();
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
      scale *= 128;
    }
    throw new MalformedBytes('overlong number', `a number longer than ${MAX_VARUINT_BYTES} bytes`);
  }

  /** `length` raw bytes, as a view into the input: callers convert them before the input is reused. */
  bytes(length: number): Buffer {
    this.need(length);
    const bytes = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return bytes;
  }

  shortString(): string {
    return this.utf8(this.u8());
  }

  string(): string {
    return this.utf8(this.u16());
  }

  expectEnd(): void {
    if (this.offset !== this.end) throw new MalformedBytes('trailing bytes', `${this.end - this.offset} bytes after the last field`);
  }

  private utf8(length: number): string {
    this.need(length);
    const bytes = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    try {
      return strictUtf8.decode(bytes);
    } catch {
      throw new MalformedBytes('invalid UTF-8', 'a string is not valid UTF-8');
    }
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.end) throw new MalformedBytes('truncated', `needs ${bytes} more bytes at offset ${this.offset}`);
  }
}
