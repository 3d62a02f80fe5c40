import { stripAnsi } from './ansi.js';
import type { LogView } from './log-view.js';

/** How long one slice of a scan may run before it yields the frame. */
const SLICE_MS = 6;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Case-insensitive literal matcher for `query`; global, for highlighting every hit of a row. */
export const matcher = (query: string): RegExp => new RegExp(escapeRegExp(query), 'gi');

export type Yield = () => Promise<void>;
const yieldToFrame: Yield = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Finds the rows of a view whose plain text (ANSI removed) contains the query, ignoring case.
 * A million lines are scanned in slices of a few milliseconds, so typing never freezes the
 * frame; the count grows as the scan goes (`scanning` says it is not final). New lines are
 * scanned as they arrive (`update`), and matches the buffer dropped are forgotten.
 */
export class LogSearch {
  query = '';
  /** Matching seqs, ascending. */
  private matches: number[] = [];
  private head = 0;
  /** Index (into the live matches) of the current one; -1 before any. */
  private current = -1;
  private scannedTo = 0;
  private generation = 0;
  scanning = false;
  private regex: RegExp | undefined;
  private readonly listeners = new Set<() => void>();
  version = 0;

  constructor(
    private readonly view: LogView,
    private readonly yieldFrame: Yield = yieldToFrame,
  ) {}

  get count(): number {
    this.forgetDropped();
    return this.matches.length - this.head;
  }

  get currentIndex(): number {
    return this.count === 0 ? -1 : this.current;
  }

  /** The seq of the current match, if any. */
  get currentSeq(): number | undefined {
    const index = this.currentIndex;
    return index < 0 ? undefined : this.matches[this.head + index];
  }

  /** Is `seq` a match? (for highlighting rows) — binary search. */
  isMatch(seq: number): boolean {
    let lo = this.head;
    let hi = this.matches.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.matches[mid]! < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.matches.length && this.matches[lo] === seq;
  }

  get pattern(): RegExp | undefined {
    return this.regex;
  }

  /** Starts a new scan (the previous one stops at its next slice). Resolves when it has finished. */
  setQuery(query: string): Promise<void> {
    this.query = query;
    this.generation += 1;
    this.matches = [];
    this.head = 0;
    this.current = -1;
    this.regex = query === '' ? undefined : matcher(query);
    this.scannedTo = this.view.buffer.first;
    this.changed();
    if (query === '') {
      this.scanning = false;
      return Promise.resolve();
    }
    return this.scan(this.generation);
  }

  /** The filter changed: the same query over the new rows. */
  restart(): Promise<void> {
    return this.setQuery(this.query);
  }

  /** Lines arrived: scan them too (synchronously when few, in slices when many). */
  update(): void {
    if (this.regex === undefined || this.scanning) return;
    if (this.scannedTo >= this.view.buffer.end) return;
    void this.scan(this.generation);
  }

  next(): number | undefined {
    return this.step(1);
  }

  previous(): number | undefined {
    return this.step(-1);
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private step(direction: 1 | -1): number | undefined {
    const count = this.count;
    if (count === 0) return undefined;
    this.current =
      ((((this.current < 0 ? (direction === 1 ? -1 : 0) : this.current) + direction) % count) + count) % count;
    this.changed();
    return this.currentSeq;
  }

  private async scan(generation: number): Promise<void> {
    this.scanning = true;
    const { view } = this;
    const { buffer } = view;
    for (;;) {
      if (generation !== this.generation) return;
      const deadline = performance.now() + SLICE_MS;
      const regex = this.regex!;
      let seq = Math.max(this.scannedTo, buffer.first);
      const end = buffer.end;
      while (seq < end) {
        if (view.passes(seq)) {
          regex.lastIndex = 0;
          if (regex.test(buffer.plain(seq, stripAnsi))) this.matches.push(seq);
        }
        seq += 1;
        if ((seq & 1023) === 0 && performance.now() > deadline) break;
      }
      this.scannedTo = seq;
      if (this.current < 0 && this.count > 0) this.current = 0;
      if (seq >= buffer.end) break;
      this.changed();
      await this.yieldFrame();
    }
    this.scanning = false;
    this.changed();
  }

  private forgetDropped(): void {
    const first = this.view.buffer.first;
    const before = this.head;
    while (this.head < this.matches.length && this.matches[this.head]! < first) this.head += 1;
    if (this.head === before) return;
    this.current = Math.max(0, this.current - (this.head - before));
    // Reclaim the array once most of it is dead.
    if (this.head > 4096 && this.head * 2 > this.matches.length) {
      this.matches = this.matches.slice(this.head);
      this.head = 0;
    }
  }

  private changed(): void {
    this.version += 1;
    for (const listener of this.listeners) listener();
  }
}
