/**
 * The lines a log viewer holds, kept outside React: a follow can deliver a million lines, and
 * none of them may become React state. Lines are stored in fixed-size chunks (UTF-8 bytes and
 * typed arrays for time, level and source: see Chunk), so appending is amortised O(1), dropping
 * the oldest is dropping a chunk, and the JS heap holds a few objects per 4,096 lines.
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
  /** Memory of the lines: their UTF-8 text plus a few bytes each for time, level and source. */
  maxBytes: number;
}

/**
 * Chromium rasters scrolled content in float32 coordinates: past 2^24 px (16.7M) of scroll
 * height, rows drawn near tile edges land a few pixels off and overlap (seen in the bench's
 * screenshots at 1.1M rows of 18 px). 1,040,000 rows of 16 px is 16.6M px, so the cap in lines
 * is what keeps every row crisp; 200 MB keeps a follow of long lines far from the
 * renderer's heap limit, with room for the search cache and the DOM. Whichever is reached first
 * drops the oldest chunk, and the viewer says how many lines went.
 */
export const DEFAULT_CAPS: BufferCaps = { maxLines: 1_040_000, maxBytes: 200 * 1024 * 1024 };
export const CHUNK_LINES = 4096;

/** Per line besides its text: time (8), level (1), source (1) and its end offset (4). */
const LINE_OVERHEAD = 14;
/**
 * A chunk's first byte array: room for 4,096 lines of 128 bytes, so a chunk of typical lines is
 * one allocation (plus the copy that seals it), not a chain of doublings: array buffers are
 * external memory, and allocating it fast is what makes V8 schedule its major GCs.
 */
const FIRST_CAPACITY = CHUNK_LINES * 128;
/** Lines stripped per call: coloured text strips at ~5 µs a line, and a search slice is 6 ms. */
const PLAIN_BATCH = 512;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A chunk keeps its lines' text as UTF-8 in one growable byte array with an end offset per line,
 * not as a string per line: a million strings are a million objects that every major GC marks
 * (the bench's long scroll frames were V8 marking them, 75 ms at a time), whereas a chunk's
 * bytes are one object whose contents live outside the JS heap. Only rows on screen are decoded.
 */
class Chunk {
  private data = new Uint8Array(FIRST_CAPACITY);
  /** ends[i] is where line i's bytes end; line i starts at ends[i - 1] (0 for the first). */
  readonly ends = new Uint32Array(CHUNK_LINES);
  readonly times = new Float64Array(CHUNK_LINES);
  readonly levels = new Uint8Array(CHUNK_LINES);
  readonly sources = new Uint8Array(CHUNK_LINES);
  length = 0;
  bytes = 0;
  /** A line holds a newline itself, so the chunk's text cannot be split on newlines. */
  multiline = false;

  constructor(readonly firstSeq: number) {}

  private get used(): number {
    return this.length === 0 ? 0 : this.ends[this.length - 1]!;
  }

  /** Appends `text` + a newline (which lets search decode a run of lines in one call). */
  push(text: string): number {
    const at = this.used;
    // ASCII is one byte a character; the first try assumes it, the retry has room for any UTF-8.
    let room = text.length + 1;
    for (;;) {
      this.reserve(at + room);
      const { read, written } = encoder.encodeInto(text, this.data.subarray(at, at + room - 1));
      if (read === text.length) {
        this.data[at + written] = 0x0a;
        this.ends[this.length] = at + written + 1;
        if (!this.multiline && text.includes('\n')) this.multiline = true;
        this.length += 1;
        return written + 1;
      }
      room = text.length * 3 + 1;
    }
  }

  /**
   * Appends texts[from, to) with one encode when they are all ASCII (most logs; a call per line
   * was most of a 10 MB burst's append time). Returns the bytes written, or -1, having appended
   * nothing, when some text is not ASCII (more bytes than characters): then push them one by one.
   */
  pushAscii(texts: readonly string[], from: number, to: number): number {
    const at = this.used;
    const joined = texts.slice(from, to).join('\n') + '\n';
    this.reserve(at + joined.length);
    const { read, written } = encoder.encodeInto(joined, this.data.subarray(at, at + joined.length));
    if (read !== joined.length || written !== joined.length) return -1;
    let end = at;
    for (let n = from; n < to; n += 1) {
      const text = texts[n]!;
      end += text.length + 1;
      this.ends[this.length] = end;
      this.length += 1;
      if (!this.multiline && text.includes('\n')) this.multiline = true;
    }
    return written;
  }

  /** The lines [from, to) as one string, each ended by a newline. */
  decode(from: number, to: number): string {
    return decoder.decode(this.data.subarray(from === 0 ? 0 : this.ends[from - 1]!, this.ends[to - 1]));
  }

  text(i: number): string {
    const start = i === 0 ? 0 : this.ends[i - 1]!;
    return decoder.decode(this.data.subarray(start, this.ends[i]! - 1));
  }

  /** A full chunk gives back what its byte array over-reserved. */
  seal(): void {
    if (this.data.length > this.used) this.data = this.data.slice(0, this.used);
  }

  private reserve(size: number): void {
    if (size <= this.data.length) return;
    let capacity = this.data.length * 2;
    while (capacity < size) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.data.subarray(0, this.used));
    this.data = grown;
  }
}

/**
 * Search's plain text (ANSI removed) for one chunk at a time: a scan walks the buffer in order,
 * so one chunk's lines, decoded and stripped in one call, serve it; the cache moves on with the
 * scan instead of keeping a stripped copy of the whole buffer.
 */
interface PlainCache {
  chunk: Chunk;
  lines: string[];
}

export class LogBuffer {
  private chunks: Chunk[] = [];
  private plainCache: PlainCache | undefined;
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
    for (let from = 0; from < texts.length;) {
      const chunk = this.tail();
      const to = Math.min(texts.length, from + CHUNK_LINES - chunk.length);
      const start = chunk.length;
      const written = chunk.pushAscii(texts, from, to);
      if (written < 0) {
        for (let n = from; n < to; n += 1) this.push(texts[n]!, time, NO_LEVEL, code);
      } else {
        chunk.times.fill(time, start, chunk.length);
        chunk.levels.fill(NO_LEVEL, start, chunk.length);
        chunk.sources.fill(code, start, chunk.length);
        const bytes = written + (to - from) * LINE_OVERHEAD;
        chunk.bytes += bytes;
        this.bytes += bytes;
        this.end += to - from;
      }
      from = to;
    }
    this.enforceCaps();
    this.changed();
  }

  /** The chunk to append to (a new one when the last is full). */
  private tail(): Chunk {
    let chunk = this.chunks.at(-1);
    if (!chunk || chunk.length === CHUNK_LINES) {
      chunk?.seal();
      chunk = new Chunk(this.end);
      this.chunks.push(chunk);
    }
    return chunk;
  }

  private push(text: string, time: number, level: number, source: number): void {
    const chunk = this.tail();
    const i = chunk.length;
    chunk.times[i] = time;
    chunk.levels[i] = level;
    chunk.sources[i] = source;
    const bytes = chunk.push(text) + LINE_OVERHEAD;
    chunk.bytes += bytes;
    this.bytes += bytes;
    this.end += 1;
  }

  clear(): void {
    this.first = this.end;
    this.chunks = [];
    this.plainCache = undefined;
    this.bytes = 0;
    this.changed();
  }

  has(seq: number): boolean {
    return seq >= this.first && seq < this.end;
  }

  text(seq: number): string {
    const [chunk, i] = this.locate(seq);
    return chunk.text(i);
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
      text: chunk.text(i),
      time: chunk.times[i]!,
      level: level === NO_LEVEL ? undefined : LEVELS[level - 1],
      source: SOURCES[chunk.sources[i]!]!,
    };
  }

  /**
   * Plain text (ANSI removed by `strip`) of `seq`. The lines of its chunk are decoded and
   * stripped together and kept until a line of another chunk is asked for (see PlainCache), and
   * extended when the last chunk has grown; a chunk whose lines hold newlines goes line by line.
   */
  plain(seq: number, strip: (text: string) => string): string {
    const [chunk, i] = this.locate(seq);
    if (chunk.multiline) return strip(chunk.text(i));
    let cache = this.plainCache;
    if (cache?.chunk !== chunk) {
      cache = { chunk, lines: [] };
      this.plainCache = cache;
    }
    while (i >= cache.lines.length) {
      const from = cache.lines.length;
      const to = Math.min(chunk.length, from + PLAIN_BATCH);
      const lines = strip(chunk.decode(from, to)).split('\n');
      lines.pop(); // after the last newline
      // One line per line only if stripping kept every newline; otherwise strip line by line.
      if (lines.length === to - from) cache.lines.push(...lines);
      else for (let n = from; n < to; n += 1) cache.lines.push(strip(chunk.text(n)));
    }
    return cache.lines[i]!;
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
    if (this.plainCache && !this.chunks.includes(this.plainCache.chunk)) this.plainCache = undefined;
    this.first = this.chunks[0]!.firstSeq;
    this.bytes = bytes;
  }

  private changed(): void {
    this.version += 1;
    for (const listener of this.listeners) listener();
  }
}
