import { constants, watch, type FSWatcher } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { isMissing } from '../system/host-root.js';

/** How often a file is re-read while no inotify watch can be held (missing, or replaced). */
export const UNWATCHED_POLL_MS = 250;
/** The backstop re-read while a watch is held (a watch on a replaced file goes quiet). */
export const WATCHED_POLL_MS = 2_000;
const READ_CHUNK = 1024 * 1024;
/** How far behind the end of a file a follower may be before it skips ahead. */
export const MAX_BEHIND_BYTES = 4 * 1024 * 1024;

/** Bytes a follower will never see: it fell more than MAX_BEHIND_BYTES behind, or the file was rotated under it. */
export interface Skip {
  why: 'behind' | 'rotated' | 'truncated';
  /** How many bytes; undefined when the file was truncated by someone other than hearthd. */
  bytes: number | undefined;
}

/**
 * New text, and what was skipped just before it (text may then be empty). Returns false when
 * the receiver is full: it gets nothing more until it calls `resume()`.
 */
export type OnText = (text: string, skipped?: Skip) => unknown;

/** Stops a follow; `resume()` restarts a paused one from its own position. */
export type Following = (() => void) & { resume: () => void };

interface Subscriber {
  /** The next byte this subscriber wants. */
  position: number;
  decoder: StringDecoder;
  onText: OnText;
  paused: boolean;
  stopped: boolean;
  /** Told with its next text. */
  skipped: Skip | undefined;
}

/**
 * One reader for one file, however many follow it: one inotify watch, one poll timer, one read
 * per change, fanned out. Each subscriber keeps its own byte position and decoder, so one that
 * joined at an older offset is caught up first and a character split between reads arrives whole.
 * A subscriber that says it is full is set aside at its own position: the shared reader goes on
 * for the others, and on resume the paused one is caught up from its position like a late joiner
 * (MAX_BEHIND_BYTES still bounds how far behind it may fall).
 */
class SharedFile {
  private position: number;
  private readonly active = new Set<Subscriber>();
  /** Joined since the last read: caught up before the next new bytes are handed out. */
  private readonly pending: Subscriber[] = [];
  /** Full: neither read for nor caught up until resumed. */
  private readonly paused = new Set<Subscriber>();
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerMs = 0;
  private reading = false;
  /** Settles when the current read ends (a rotation waits for it). */
  private readDone: Promise<void> = Promise.resolve();
  /** A rotation is truncating the file: no read starts until it is done. */
  private holding = false;
  private wokenWhileReading = false;
  private closed = false;

  constructor(
    private readonly file: string,
    offset: number,
    private readonly onEmpty: () => void,
  ) {
    this.position = offset;
  }

  get subscribers(): number {
    return this.active.size + this.pending.length + this.paused.size;
  }

  subscribe(offset: number, onText: OnText): Following {
    const subscriber: Subscriber = {
      position: offset,
      decoder: new StringDecoder('utf8'),
      onText,
      paused: false,
      stopped: false,
      skipped: undefined,
    };
    this.pending.push(subscriber);
    void this.read();
    const stop = () => {
      if (subscriber.stopped) return;
      subscriber.stopped = true;
      this.active.delete(subscriber);
      this.paused.delete(subscriber);
      const index = this.pending.indexOf(subscriber);
      if (index >= 0) this.pending.splice(index, 1);
      if (this.subscribers === 0) this.close();
    };
    const resume = () => {
      if (subscriber.stopped || !subscriber.paused) return;
      subscriber.paused = false;
      this.paused.delete(subscriber);
      this.pending.push(subscriber);
      void this.read();
    };
    return Object.assign(stop, { resume });
  }

  private close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.watcher?.close();
    this.onEmpty();
  }

  private schedule(): void {
    const ms = this.watcher ? WATCHED_POLL_MS : UNWATCHED_POLL_MS;
    if (this.closed || this.timerMs === ms) return;
    clearInterval(this.timer);
    this.timerMs = ms;
    this.timer = setInterval(() => void this.read(), ms);
  }

  private ensureWatch(): void {
    if (this.watcher || this.closed) return;
    try {
      this.watcher = watch(this.file, { persistent: false }, () => void this.read());
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
        this.schedule();
      });
    } catch {
      // Not there yet: the fast poll tries again.
    }
    this.schedule();
  }

  private deliver(subscriber: Subscriber, start: number, bytes: Buffer): void {
    const end = start + bytes.length;
    if (subscriber.paused || end <= subscriber.position) return;
    const text = subscriber.decoder.write(bytes.subarray(Math.max(0, subscriber.position - start)));
    subscriber.position = end;
    const skipped = subscriber.skipped;
    if (!text && !skipped) return;
    subscriber.skipped = undefined;
    let room: unknown = true;
    try {
      room = subscriber.onText(text, skipped);
    } catch {
      // One subscriber's failure must not starve the others.
    }
    if (room !== false) return;
    subscriber.paused = true;
    this.active.delete(subscriber);
    this.paused.add(subscriber);
  }

  private async readRange(
    handle: FileHandle,
    from: number,
    to: number,
    into: (start: number, b: Buffer) => void,
    until: () => boolean = () => false,
  ) {
    for (let at = from; at < to && !this.closed && !until();) {
      const buffer = Buffer.alloc(Math.min(to - at, READ_CHUNK));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, at);
      if (bytesRead === 0) return;
      into(at, buffer.subarray(0, bytesRead));
      at += bytesRead;
    }
  }

  private async readAppended(): Promise<void> {
    // Never through a link, never blocking on a FIFO: the VMM user may own a followed file.
    const handle = await open(this.file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      if (!(await handle.stat()).isFile()) return;
      for (;;) {
        const { size } = await handle.stat();
        // A writer far ahead (an endless or sparsely extended file) is not read all the way:
        // followers skip to the last MAX_BEHIND_BYTES, as a tail would.
        const floor = size - MAX_BEHIND_BYTES;
        if (this.position < floor) this.position = floor;
        for (const s of this.all()) if (s.position < floor) this.skip(s, floor, 'behind', floor - s.position);
        // Truncated by someone else (hearthd's own rotation goes through `truncate`, which knows
        // how much each follower had not read): everyone starts again at the new beginning.
        if (size < this.position) this.restart(undefined);
        for (const s of this.pending.splice(0)) {
          if (s.position < this.position)
            await this.readRange(
              handle,
              s.position,
              this.position,
              (at, b) => this.deliver(s, at, b),
              () => s.paused,
            );
          if (this.closed) return;
          // Full again while catching up: it stays set aside; the others are not held back.
          if (!s.paused && !s.stopped && !this.pending.includes(s)) this.active.add(s);
        }
        if (size <= this.position || this.closed) return;
        const start = this.position;
        await this.readRange(handle, start, Math.min(size, start + READ_CHUNK), (at, bytes) => {
          this.position = at + bytes.length;
          for (const s of this.active) this.deliver(s, at, bytes);
        });
        if (this.position === start) return;
      }
    } finally {
      await handle.close();
    }
  }

  private skip(s: Subscriber, to: number, why: Skip['why'], bytes: number | undefined): void {
    const before = s.skipped?.bytes;
    s.skipped = { why, bytes: bytes === undefined || s.skipped === undefined ? bytes : bytes + (before ?? 0) };
    s.position = to;
    s.decoder = new StringDecoder('utf8');
  }

  /** The file starts again at 0; `sizeBefore` (when known) says what each follower missed. */
  private restart(sizeBefore: number | undefined): void {
    this.position = 0;
    for (const s of this.all()) {
      if (sizeBefore === undefined) this.skip(s, 0, 'truncated', undefined);
      else if (sizeBefore > s.position) this.skip(s, 0, 'rotated', sizeBefore - s.position);
      else {
        s.position = 0;
        s.decoder = new StringDecoder('utf8');
      }
    }
  }

  /**
   * Runs `truncate` (a rotation) between reads, never during one, and resets every follower to
   * the new beginning knowing exactly what each had not read of the `sizeBefore` bytes.
   */
  async truncate(sizeBefore: number, truncate: () => Promise<void>): Promise<void> {
    this.holding = true;
    try {
      while (this.reading) await this.readDone;
      await truncate();
      this.restart(sizeBefore);
    } finally {
      this.holding = false;
      void this.read();
    }
  }

  private async read(): Promise<void> {
    if (this.closed) return;
    if (this.reading || this.holding) {
      this.wokenWhileReading = true;
      return;
    }
    this.reading = true;
    let done = () => {};
    this.readDone = new Promise((resolve) => (done = resolve));
    try {
      do {
        this.wokenWhileReading = false;
        this.ensureWatch();
        await this.readAppended().catch((error: unknown) => {
          if (!isMissing(error)) throw error;
        });
      } while (this.wokenAgain() && !this.isClosed());
    } catch {
      // Unreadable for now: the next wake-up or poll tries again.
    } finally {
      this.reading = false;
      done();
    }
  }

  private all(): Subscriber[] {
    return [...this.active, ...this.pending, ...this.paused];
  }

  // Read through methods: these change while a read awaits, which narrowing cannot see.
  private wokenAgain(): boolean {
    return this.wokenWhileReading;
  }

  private isClosed(): boolean {
    return this.closed;
  }
}

/** The followed files, by absolute path; a file's reader lives while anyone follows it. */
export class FileFollowers {
  private readonly files = new Map<string, SharedFile>();

  /**
   * Calls `onText` with whatever is appended to `file` after byte `offset` until the returned
   * function is called. The last unsubscribe closes the file's watch and timer.
   */
  follow(file: string, offset: number, onText: OnText): Following {
    const path = resolve(file);
    let shared = this.files.get(path);
    if (!shared) {
      const created = new SharedFile(path, offset, () => {
        if (this.files.get(path) === created) this.files.delete(path);
      });
      this.files.set(path, created);
      shared = created;
    }
    return shared.subscribe(offset, onText);
  }

  /** Truncates a followed file between its reads (rotation; see SharedFile.truncate). */
  truncate(file: string, sizeBefore: number, truncate: () => Promise<void>): Promise<void> {
    const shared = this.files.get(resolve(file));
    return shared ? shared.truncate(sizeBefore, truncate) : truncate();
  }

  /** Followed files and their subscriber counts (for tests and debugging). */
  stats(): Map<string, number> {
    return new Map([...this.files].map(([path, shared]) => [path, shared.subscribers]));
  }
}

/** hearthd's one registry: every log follow and readiness watch goes through it. */
export const fileFollowers = new FileFollowers();
