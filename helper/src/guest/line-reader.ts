/**
 * Splits a byte stream from a guest into lines of at most `maxBytes` (without the newline). It
 * never holds more than `maxBytes`: a longer line is discarded up to its newline (and counted),
 * so a guest that never sends one costs a fixed buffer, not memory without end.
 */
export class LineReader {
  private parts: Buffer[] = [];
  private held = 0;
  /** Inside a line that was already too long: everything up to the next newline goes. */
  private discarding = false;
  /** Lines dropped for length so far. */
  overlong = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): Buffer[] {
    const lines: Buffer[] = [];
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      this.take(chunk.subarray(start, end));
      if (newline === -1) break;
      if (!this.discarding) lines.push(Buffer.concat(this.parts, this.held));
      this.reset();
      start = newline + 1;
    }
    return lines;
  }

  /** Some bytes of the current line were lost (dropped by a rate limit): the rest of it goes too. */
  skip(): void {
    this.parts = [];
    this.held = 0;
    this.discarding = true;
  }

  private take(piece: Buffer): void {
    if (this.discarding || piece.length === 0) return;
    if (this.held + piece.length > this.maxBytes) {
      this.overlong += 1;
      this.discarding = true;
      this.parts = [];
      this.held = 0;
      return;
    }
    this.parts.push(piece);
    this.held += piece.length;
  }

  private reset(): void {
    this.parts = [];
    this.held = 0;
    this.discarding = false;
  }
}
