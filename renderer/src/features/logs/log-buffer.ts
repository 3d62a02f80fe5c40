/**
 * The lines a log viewer holds, kept outside React: a follow can deliver a million lines, and
 * none of them may become React state. Lines are stored in fixed-size chunks (arrays of strings
 * plus typed arrays for time, level and source), so appending is amortised O(1), dropping the
 * oldest is dropping a chunk, and a search can cache per chunk.
 *
 * Every line has a sequence number (`seq`): 0, 1, 2… in arrival order, never reused. A line's
 * seq stays valid until it is dropped; `first` is the oldest seq still held, which is also how
 * many lines were dropped.
 */

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type Level = (typeof LEVELS)[number];
export const SOURCES = ['console', 'events', 'hearthd'] as const;
export type Source = (typeof SOURCES)[number];

/** Level 0 means "none": console lines carry no level, and guessing one would not be honest. */
const NO_LEVEL = 0;
const levelCode = (level: Level | undefined): number => (level === undefined ? NO_LEVEL : LEVELS.indexOf(level) + 1);

export interface LogLine {
  seq: number;
  /** As received, ANSI escapes included. */
  text: string;
  /** ms since epoch: hearthd's for its entries and events, arrival time for console lines. */
  time: number;
  level: Level | undefined;
  source: Source;
}

export interface LineInput {
  text: string;
  time: number;
  level?: Level;
  source: Source;
}

export interface BufferCaps {
  maxLines: number;
  /** Estimated memory (see `estimateBytes`), not exact: V8 does not say what a string costs. */
  maxBytes: number;
}

/**
 * Chromium rasters scrolled content in float32 coordinates: past 2^24 px (16.7M) of scroll
 * height, rows drawn near tile edges land a few pixels off and overlap (seen in the bench's
 * screenshots at 1.1M rows of 18 px). 1,040,000 rows of 16 px is 16.6M px, so the cap in lines
 * is what keeps every row crisp; 200 MB (estimated) keeps a follow of long lines far from the
 * renderer's heap limit, with room for the search cache and the DOM. Whichever is reached first
 * drops the oldest chunk, and the viewer says how many lines went.
 */
export const DEFAULT_CAPS: BufferCaps = { maxLines: 1_040_000, maxBytes: 200 * 1024 * 1024 };
export const CHUNK_LINES = 4096;

/**
 * A line's cost: V8 keeps ASCII text (most logs) one byte a character; plus the string header,
 * the array slot and the per-line typed-array bytes. Non-ASCII text costs up to twice this.
 */
const estimateBytes = (text: string) => text.length + 64;

class Chunk {
  readonly texts: string[] = [];
  readonly times = new Float64Array(CHUNK_LINES);
  readonly levels = new Uint8Array(CHUNK_LINES);
  readonly sources = new Uint8Array(CHUNK_LINES);
  bytes = 0;
  /** Search's cache: plain text for lines that carry ANSI (undefined: same as `texts`). */
  plain: (string | undefined)[] | undefined;
  plainUpTo = 0;

  constructor(readonly firstSeq: number) {}

  get length(): number {
    return this.texts.length;
  }
}

export class LogBuffer {
  private chunks: Chunk[] = [];
  private listeners = new Set<() => void>();
  /** Oldest seq held (= lines dropped so far). */
  first = 0;
  /** Next seq to be given (= lines ever appended). */
  end = 0;
  bytes = 0;
  /** Bumped on every change; what React's useSyncExternalStore compares. */
  version = 0;

  constructor(readonly caps: BufferCaps = DEFAULT_CAPS) {}

  get size(): number {
    return this.end - this.first;
  }

  get dropped(): number {
    return this.first;
  }

  append(lines: readonly LineInput[]): void {
    if (lines.length === 0) return;
    for (const line of lines) this.push(line.text, line.time, levelCode(line.level), SOURCES.indexOf(line.source));
    this.enforceCaps();
    this.changed();
  }

  /** A batch of one source and one time (a console read), without an object per line. */
  appendTexts(texts: readonly string[], source: Source, time: number): void {
    if (texts.length === 0) return;
    const code = SOURCES.indexOf(source);
    for (const text of texts) this.push(text, time, NO_LEVEL, code);
    this.enforceCaps();
    this.changed();
  }

  private push(text: string, time: number, level: number, source: number): void {
    let chunk = this.chunks.at(-1);
    if (!chunk || chunk.length === CHUNK_LINES) {
      chunk = new Chunk(this.end);
      this.chunks.push(chunk);
    }
    const i = chunk.length;
    chunk.texts.push(text);
    chunk.times[i] = time;
    chunk.levels[i] = level;
    chunk.sources[i] = source;
    const bytes = estimateBytes(text);
    chunk.bytes += bytes;
    this.bytes += bytes;
    this.end += 1;
  }

  clear(): void {
    this.first = this.end;
    this.chunks = [];
    this.bytes = 0;
    this.changed();
  }

  has(seq: number): boolean {
    return seq >= this.first && seq < this.end;
  }

  text(seq: number): string {
    const [chunk, i] = this.locate(seq);
    return chunk.texts[i]!;
  }

  time(seq: number): number {
    const [chunk, i] = this.locate(seq);
    return chunk.times[i]!;
  }

  levelCode(seq: number): number {
    const [chunk, i] = this.locate(seq);
    return chunk.levels[i]!;
  }

  sourceCode(seq: number): number {
    const [chunk, i] = this.locate(seq);
    return chunk.sources[i]!;
  }

  line(seq: number): LogLine {
    const [chunk, i] = this.locate(seq);
    const level = chunk.levels[i]!;
    return {
      seq,
      text: chunk.texts[i]!,
      time: chunk.times[i]!,
      level: level === NO_LEVEL ? undefined : LEVELS[level - 1],
      source: SOURCES[chunk.sources[i]!]!,
    };
  }

  /**
   * Plain text (ANSI removed by `strip`) of `seq`, cached per chunk: a search of a million
   * lines strips each coloured line once, not once per query. Lines without ESC are their own
   * plain text and cost nothing.
   */
  plain(seq: number, strip: (text: string) => string): string {
    const [chunk, i] = this.locate(seq);
    const text = chunk.texts[i]!;
    chunk.plain ??= [];
    while (chunk.plainUpTo <= i) {
      const raw = chunk.texts[chunk.plainUpTo]!;
      chunk.plain.push(raw.includes('\x1b') ? strip(raw) : undefined);
      chunk.plainUpTo += 1;
    }
    return chunk.plain[i] ?? text;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private locate(seq: number): [Chunk, number] {
    if (!this.has(seq)) throw new RangeError(`line ${seq} is not in the buffer (${this.first}..${this.end - 1})`);
    const head = this.chunks[0]!;
    // Every chunk but the last is full, so the chunk index is arithmetic from the first chunk.
    const index = Math.floor((seq - head.firstSeq) / CHUNK_LINES);
    const chunk = this.chunks[index]!;
    return [chunk, seq - chunk.firstSeq];
  }

  /** Drops whole chunks from the front until under both caps; `first` counts what went. */
  private enforceCaps(): void {
    let drop = 0;
    let size = this.size;
    let bytes = this.bytes;
    while (drop < this.chunks.length - 1 && (size > this.caps.maxLines || bytes > this.caps.maxBytes)) {
      const chunk = this.chunks[drop]!;
      size -= chunk.length;
      bytes -= chunk.bytes;
      drop += 1;
    }
    if (drop === 0) return;
    this.chunks = this.chunks.slice(drop);
    this.first = this.chunks[0]!.firstSeq;
    this.bytes = bytes;
  }

  private changed(): void {
    this.version += 1;
    for (const listener of this.listeners) listener();
  }
}
