/**
 * What the bench writes: numbered console lines with ANSI colours, appended to the environment's
 * console file as the guest's serial console would append them.
 */
import { appendFile } from 'node:fs/promises';

const COLOURS = ['31', '32', '33', '34', '35', '36', '1;31', '38;5;208', '38;2;120;180;255'];

/** A console line with colours: a timestamp, a coloured level and a numbered message (~100 bytes). */
export const colouredLine = (n: number): string =>
  `\x1b[90m2025-01-02T03:04:05Z\x1b[0m \x1b[${COLOURS[n % COLOURS.length]}m${n % 7 === 0 ? 'WARN' : 'INFO'}\x1b[0m ` +
  `L${String(n).padStart(8, '0')} worker ${n % 13} handled request /api/items/${n % 997} in ${n % 250} ms\n`;

const lines = (from: number, count: number) => Array.from({ length: count }, (_, i) => colouredLine(from + i)).join('');

/** One environment's console file and how many lines the bench has appended to it. */
export class ConsoleFeed {
  written = 0;

  constructor(private readonly file: string) {}

  /** Appends the next `count` numbered lines; returns how many bytes they took. */
  async append(count: number): Promise<number> {
    const text = lines(this.written, count);
    await appendFile(this.file, text);
    this.written += count;
    return Buffer.byteLength(text);
  }
}
