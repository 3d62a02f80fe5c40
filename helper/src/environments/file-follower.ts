import { constants, watch, type FSWatcher } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { isMissing } from '../host/host-root.js';

/** How often a file is re-read while no inotify watch can be held (missing, or replaced). */
export const UNWATCHED_POLL_MS = 250;
/** The backstop re-read while a watch is held (a watch on a replaced file goes quiet). */
export const WATCHED_POLL_MS = 2_000;
const READ_CHUNK = 1024 * 1024;
/** How far behind the end of a file a follower may be before it skips ahead. */
export const MAX_BEHIND_BYTES = 4 * 1024 * 1024;

interface Subscriber {
  /** The next byte this subscriber wants. */
  position: number;
  decoder: StringDecoder;
  onText: (text: string) => void;
}

/**
 * One reader for one file, however many follow it: one inotify watch, one poll timer, one read
 * per change, fanned out. Each subscriber keeps its own byte position and decoder, so one that
 * joined at an older offset is caught up first and a character split between reads arrives whole.
 */
class SharedFile {
  private position: number;
  private readonly active = new Set<Subscriber>();
  /** Joined since the last read: caught up before the next new bytes are handed out. */
  private readonly pending: Subscriber[] = [];
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerMs = 0;
  private reading = false;
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
    return this.active.size + this.pending.length;
  }

  subscribe(offset: number, onText: (text: string) => void): () => void {
    const subscriber: Subscriber = { position: offset, decoder: new StringDecoder('utf8'), onText };
    this.pending.push(subscriber);
    void this.read();
    return () => {
      this.active.delete(subscriber);
      const index = this.pending.indexOf(subscriber);
      if (index >= 0) this.pending.splice(index, 1);
      if (this.subscribers === 0) this.close();
    };
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
    if (end <= subscriber.position) return;
    const text = subscriber.decoder.write(bytes.subarray(Math.max(0, subscriber.position - start)));
    subscriber.position = end;
    if (!text) return;
    try {
      subscriber.onText(text);
    } catch {
      // One subscriber's failure must not starve the others.
    }
  }

  private async readRange(handle: FileHandle, from: number, to: number, into: (start: number, b: Buffer) => void) {
    for (let at = from; at < to && !this.closed;) {
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
        for (const s of [...this.active, ...this.pending])
          if (s.position < floor) {
            s.position = floor;
            s.decoder = new StringDecoder('utf8');
          }
        if (size < this.position) {
          // Truncated by rotation: everyone starts again at the new beginning.
          this.position = 0;
          for (const s of [...this.active, ...this.pending]) {
            s.position = 0;
            s.decoder = new StringDecoder('utf8');
          }
        }
        for (const s of this.pending.splice(0)) {
          if (s.position < this.position)
            await this.readRange(handle, s.position, this.position, (at, b) => this.deliver(s, at, b));
          if (this.closed) return;
          this.active.add(s);
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

  private async read(): Promise<void> {
    if (this.closed) return;
    if (this.reading) {
      this.wokenWhileReading = true;
      return;
    }
    this.reading = true;
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
    }
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
  follow(file: string, offset: number, onText: (text: string) => void): () => void {
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

  /** Followed files and their subscriber counts (for tests and debugging). */
  stats(): Map<string, number> {
    return new Map([...this.files].map(([path, shared]) => [path, shared.subscribers]));
  }
}

/** hearthd's one registry: every log follow and readiness watch goes through it. */
export const fileFollowers = new FileFollowers();
