/**
 * The SSH wire encoding (RFC 4251 §5) that the agent protocol, public-key blobs, signatures and
 * user-authentication requests are all written in: big-endian uint32s and length-prefixed strings.
 * The reader never trusts a length: every read is checked against what is left, so hostile input
 * ends in a WireError, never in a read past the buffer or an allocation the input chose.
 */

export class WireError extends Error {}

export class SshReader {
  private offset = 0;

  constructor(private readonly buffer: Buffer) {}

  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  byte(): number {
    this.need(1);
    return this.buffer[this.offset++]!;
  }

  boolean(): boolean {
    const value = this.byte();
    // RFC 4251 says any non-zero is true, but a strict reader leaves no two readings of one message.
    if (value > 1) throw new WireError('a boolean is neither 0 nor 1');
    return value === 1;
  }

  uint32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  /** A string as bytes (a copy-free view of the input). */
  string(): Buffer {
    const length = this.uint32();
    this.need(length);
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  /** A string that must be text: names of algorithms, services, methods. */
  text(): string {
    const bytes = this.string();
    // These names are US-ASCII by RFC 4251; anything else is not a name we know.
    if (!bytes.every((b) => b >= 0x20 && b < 0x7f)) throw new WireError('a name holds non-printable bytes');
    return bytes.toString('latin1');
  }

  /** An mpint as its unsigned big-endian magnitude; negative numbers are refused (no key has one). */
  positiveMpint(): Buffer {
    const bytes = this.string();
    if (bytes.length > 0 && (bytes[0]! & 0x80) !== 0) throw new WireError('a negative mpint');
    let start = 0;
    while (start < bytes.length && bytes[start] === 0) start++;
    return bytes.subarray(start);
  }

  /** The message must have been read to its last byte: trailing bytes are a second reading. */
  end(): void {
    if (this.remaining !== 0) throw new WireError('trailing bytes after the message');
  }

  private need(count: number): void {
    if (count > this.remaining) throw new WireError('the message ends early');
  }
}

export class SshWriter {
  private readonly parts: Buffer[] = [];

  byte(value: number): this {
    this.parts.push(Buffer.from([value]));
    return this;
  }

  uint32(value: number): this {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(value);
    this.parts.push(bytes);
    return this;
  }

  string(value: Buffer | string): this {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    this.uint32(bytes.length);
    this.parts.push(bytes);
    return this;
  }

  raw(bytes: Buffer): this {
    this.parts.push(bytes);
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}
