import { LEVELS, SOURCES, type Level, type LogBuffer, type Source } from './log-buffer.js';

export interface LogFilter {
  /** Levels shown; lines without a level (console) are shown whatever this says. */
  levels: ReadonlySet<Level>;
  sources: ReadonlySet<Source>;
}

export const ALL: LogFilter = { levels: new Set(LEVELS), sources: new Set(SOURCES) };

const isAll = (filter: LogFilter) => filter.levels.size === LEVELS.length && filter.sources.size === SOURCES.length;

/**
 * The rows a viewer shows: the buffer's lines that pass the filter, as row index → seq. With no
 * filter it is the identity (no memory at all); with one it is a growable Float64Array of seqs,
 * extended as lines arrive and trimmed at the front as the buffer drops them. `removed` counts
 * rows that left from the front, so a paused viewer can keep its place when the buffer drops.
 */
export class LogView {
  private seqs = new Float64Array(0);
  private head = 0;
  private tail = 0;
  private scannedTo: number;
  private filter: LogFilter = ALL;
  private all = true;
  /** Rows removed from the front since the view was made (drops) — for scroll compensation. */
  removed = 0;
  private lastFirst: number;
  /** Rows ever added (for "N new lines"). */
  added = 0;

  constructor(readonly buffer: LogBuffer) {
    this.scannedTo = buffer.end;
    this.lastFirst = buffer.first;
    this.added = buffer.size;
  }

  get length(): number {
    this.sync();
    return this.all ? this.buffer.size : this.tail - this.head;
  }

  seqAt(row: number): number {
    this.sync();
    return this.all ? this.buffer.first + row : this.seqs[this.head + row]!;
  }

  /** The row showing `seq`, or the first row after it when it is filtered out (binary search). */
  rowOf(seq: number): number {
    this.sync();
    if (this.all) return Math.max(0, seq - this.buffer.first);
    let lo = this.head;
    let hi = this.tail;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seqs[mid]! < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo - this.head;
  }

  getFilter(): LogFilter {
    return this.filter;
  }

  setFilter(filter: LogFilter): void {
    this.filter = filter;
    this.all = isAll(filter);
    this.seqs = new Float64Array(0);
    this.head = 0;
    this.tail = 0;
    this.scannedTo = this.buffer.first;
    this.lastFirst = this.buffer.first;
    this.sync();
    this.added = this.length;
  }

  passes(seq: number): boolean {
    const level = this.buffer.levelCode(seq);
    if (level !== 0 && !this.filter.levels.has(LEVELS[level - 1]!)) return false;
    return this.filter.sources.has(SOURCES[this.buffer.sourceCode(seq)]!);
  }

  /** Brings the rows up to the buffer: new lines in, dropped lines out. Cheap when nothing changed. */
  private sync(): void {
    const { first, end } = this.buffer;
    if (this.all) {
      if (first > this.lastFirst) this.removed += first - Math.max(this.lastFirst, 0);
      if (end > this.scannedTo) this.added += end - Math.max(this.scannedTo, first);
      this.lastFirst = first;
      this.scannedTo = end;
      return;
    }
    if (first > this.lastFirst) {
      const before = this.head;
      while (this.head < this.tail && this.seqs[this.head]! < first) this.head += 1;
      this.removed += this.head - before;
      this.lastFirst = first;
    }
    for (let seq = Math.max(this.scannedTo, first); seq < end; seq += 1) {
      if (!this.passes(seq)) continue;
      if (this.tail === this.seqs.length) this.grow();
      this.seqs[this.tail++] = seq;
      this.added += 1;
    }
    this.scannedTo = end;
  }

  private grow(): void {
    const live = this.tail - this.head;
    const next = new Float64Array(Math.max(1024, live * 2));
    next.set(this.seqs.subarray(this.head, this.tail));
    this.seqs = next;
    this.head = 0;
    this.tail = live;
  }
}
